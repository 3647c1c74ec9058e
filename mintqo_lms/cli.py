"""The ``mintqo-lms`` command: a thin click layer over the library.

Every command loads the config the same way, turns our typed errors into one clear line on stderr and a
non-zero exit (no tracebacks for expected failures), and never prints the token.
"""

from __future__ import annotations

import logging
import os
import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click

from mintqo_lms import __version__
from mintqo_lms.config import DEFAULT_CONFIG_NAME, EXAMPLE_CONFIG, Config, load_config
from mintqo_lms.keys import cohort_option
from mintqo_lms.keys import COHORT_KEY
from mintqo_lms.locking import store_lock
from mintqo_lms.moodle import Moodle
from mintqo_lms.moodle.client import check_url, redact_secrets
from mintqo_lms.moodle.errors import InvalidTokenError, MintqoError
from mintqo_lms.sandbox.cli import sandbox
from mintqo_lms.store import Store

VERBOSE_HINT = "run it again with -vv to see the traceback"


def _hint(exc: MintqoError) -> str:
    from mintqo_lms.templates import TemplateError

    if isinstance(exc, TemplateError) and exc.file and "templates directory" not in exc.message:
        return " — correct the template file (lms_templates/ or $MINTQO_TEMPLATES_DIR) and run the command again"
    if isinstance(exc, InvalidTokenError):
        return (" — Moodle does not know this token: check moodle.token_file (or MINTQO_MOODLE_TOKEN) and that the "
                "token belongs to the service 'MINT-QO Sync'")
    return ""


class MintqoGroup(click.Group):
    """Turns every error into one line on stderr and exit code 1: ours as they are, anything unexpected as
    its type and message with a hint to use -vv, which also prints the traceback. Never the token."""

    def invoke(self, ctx: click.Context):  # type: ignore[override]
        # Everything a command writes (store, exports, reports, PDFs, JSON) holds personal data: readable by the
        # owner only, whichever module writes the file (restored afterwards: the CLI may run inside a test).
        umask = os.umask(0o077)
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except MintqoError as exc:
            _traceback_if_verbose(ctx)
            click.secho(redact_secrets(f"Error: {exc}{_hint(exc)}"), fg="red", err=True)
            sys.exit(1)
        except Exception as exc:  # noqa: BLE001 - the last line of defence against a raw traceback
            _traceback_if_verbose(ctx)
            detail = f": {exc}" if str(exc) else ""
            click.secho(redact_secrets(f"Error: unexpected {exc.__class__.__name__}{detail}"), fg="red", err=True)
            if _verbosity(ctx) < 2:
                click.echo(f"This is a bug in mintqo-lms or an unusual situation; {VERBOSE_HINT}.", err=True)
            sys.exit(1)
        finally:
            os.umask(umask)


def _verbosity(ctx: click.Context) -> int:
    return int((ctx.obj or {}).get("verbose", 0)) if isinstance(ctx.obj, dict) else 0


def _traceback_if_verbose(ctx: click.Context) -> None:
    if _verbosity(ctx) >= 2:
        click.echo(redact_secrets(traceback.format_exc()), err=True)


@contextmanager
def _writing_store(config: Config, command: str, *, create: bool = False) -> Iterator[Store]:
    """The store, opened under its lock: one writing command at a time (a second gets one line naming the
    holder). Runs an earlier command left ``running`` when it died are marked ``interrupted`` on the way.
    Only ``init`` and ``roster import`` (``create``) may start a new store: a sync run in the wrong folder
    should say so, not leave an empty store behind."""
    from mintqo_lms.store import StoreError

    if not create and not config.store.path.exists():
        raise StoreError(f"no store at {config.store.path}: run 'mintqo-lms init' and 'mintqo-lms roster import' "
                         f"first, or check store.path in {config.where}")
    with store_lock(config.store.path, command), Store(config.store.path) as store:
        store.mark_interrupted_runs()
        yield store


def _config(ctx: click.Context) -> Config:
    cached = ctx.obj.get("config") if ctx.obj else None
    if cached is None:
        cached = load_config(ctx.obj.get("config_path"))
        ctx.obj["config"] = cached
    return cached


@click.group(cls=MintqoGroup)
@click.option("--config", "config_path", type=click.Path(dir_okay=False), envvar="MINTQO_CONFIG",
              help=f"Config file (default: $MINTQO_CONFIG, else ./{DEFAULT_CONFIG_NAME}).")
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
@click.version_option(__version__, prog_name="mintqo-lms")
@click.pass_context
def main(ctx: click.Context, config_path: str | None, verbose: int) -> None:
    """Provision Moodle for the MINT-Qualitätsoffensive and sync it into the programme store."""
    logging.basicConfig(level=[logging.WARNING, logging.INFO, logging.DEBUG][min(verbose, 2)],
                        format="%(levelname)s %(name)s: %(message)s")
    ctx.ensure_object(dict)
    ctx.obj["config_path"] = config_path
    ctx.obj["verbose"] = verbose


@main.command()
@click.option("--path", "target", type=click.Path(dir_okay=False), default=DEFAULT_CONFIG_NAME,
              show_default=True, help="Where to write the config.")
@click.option("--url", envvar="MINTQO_MOODLE_URL", help="Moodle site URL (default: $MINTQO_MOODLE_URL).")
@click.option("--force", is_flag=True, help="Overwrite an existing config.")
def init(target: str, url: str | None, force: bool) -> None:
    """Write a config file and create the programme store next to it."""
    path = Path(target)
    if url:
        url = check_url(url)  # a typo is refused here, not at the first sync
    if path.exists() and not force:
        click.echo(f"{path} exists; keeping it (use --force to overwrite).")
    else:
        text = EXAMPLE_CONFIG
        if url:
            escaped = url.replace("\\", "\\\\").replace('"', '\\"')
            text = text.replace('url = "https://moodle.example.org"', f'url = "{escaped}"')
        path.write_text(text, encoding="utf-8")
        click.echo(f"Wrote {path}. Put the web-service token into the token file it names (chmod 600).")
    config = load_config(path)
    with Store(config.store.path) as store:
        click.echo(f"Store ready: {config.store.path} (schema version {store.version}).")


@main.command()
@click.pass_context
def doctor(ctx: click.Context) -> None:
    """Check config, store and the Moodle connection; list functions the token cannot call."""
    config = load_config(ctx.obj.get("config_path"), require_file=False)
    click.echo(f"Config: {config.where}")
    if config.store.path.exists():
        with Store(config.store.path) as store:
            click.echo(f"Store: {config.store.path} (schema version {store.version})")
    else:
        click.echo(f"Store: {config.store.path} does not exist yet (mintqo-lms init creates it)")
    moodle = Moodle(config.client())
    info = moodle.core.get_site_info()
    click.echo(f"Moodle: {info.sitename} — release {info.release} — as {info.username}")
    missing = [name for name in moodle.required_functions if name not in info.function_names]
    if "local_mintqo_get_plugin_info" in info.function_names:
        plugin = moodle.plugin.get_plugin_info()
        click.echo(f"Plugin: {plugin.component} {plugin.release} (version {plugin.version}), "
                   f"supports Moodle {plugin.supported_range}")
        if plugin.moodle_supported:
            click.echo(f"Release: Moodle {plugin.moodle_branch // 100}.{plugin.moodle_branch % 100} is supported.")
        else:
            click.secho(f"Release: Moodle {plugin.moodle_release} is outside the plugin's supported range "
                        f"({plugin.supported_range}); it may work, but it was not tried.", fg="yellow")
    else:
        click.secho("Plugin: the token cannot ask local_mintqo for its version (plugin older than 1.1.0, "
                    "or not installed).", fg="yellow")
    if missing:
        click.secho(f"The token cannot call {len(missing)} function(s) the service needs:", fg="yellow")
        for name in missing:
            click.echo(f"  - {name}")
        click.echo("Add them to the token's service (install the local_mintqo plugin; see its README).")
        sys.exit(2)
    click.secho("All required web-service functions are available.", fg="green")


@main.group()
def roster() -> None:
    """The roster the office keeps (CSV or Excel .xlsx): one row per person."""


@roster.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@cohort_option()
@click.option("--allow-shrink", is_flag=True,
              help="Accept a roster without people, or one that takes more than a third of the cohort's "
                   "active people off it.")
@click.option("--restore", "restore", metavar="EMAIL", multiple=True,
              help="Bring back someone removed with 'people remove' whom this roster lists (repeatable).")
@click.pass_context
def roster_import(ctx: click.Context, file: str, cohort: str, allow_shrink: bool, restore: tuple[str, ...]) -> None:
    """Check FILE (CSV or .xlsx) and store it for COHORT (all or nothing; re-import updates)."""
    from mintqo_lms.programme import import_roster
    from mintqo_lms.roster import RosterError

    config = _config(ctx)
    command = f"mintqo-lms roster import {Path(file).name} --cohort {cohort}"
    with _writing_store(config, command, create=True) as store:
        try:
            summary = import_roster(store, file, cohort, allow_shrink=allow_shrink, restore=restore)
        except RosterError as exc:
            click.secho(str(exc), fg="red", err=True)
            click.echo("Nothing was stored. Correct the file and import it again.", err=True)
            sys.exit(1)
    click.echo(str(summary))


@main.group()
def timetable() -> None:
    """The cohort's dates (CSV or Excel .xlsx): workshops, peer rounds, windows and deadlines."""


@timetable.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@cohort_option()
@click.pass_context
def timetable_import(ctx: click.Context, file: str, cohort: str) -> None:
    """Check FILE against the cohort's roster and the templates and store it (all or nothing; replaces the
    cohort's earlier timetable). The next 'provision' puts the dates into Moodle."""
    from mintqo_lms.timetable import TimetableError, import_timetable

    config = _config(ctx)
    templates = str(config.programme.templates_dir) if config.programme.templates_dir else None
    with _writing_store(config, f"mintqo-lms timetable import {Path(file).name} --cohort {cohort}") as store:
        try:
            summary = import_timetable(store, file, cohort, templates)
        except TimetableError as exc:
            click.secho(str(exc), fg="red", err=True)
            click.echo("Nothing was stored. Correct the file and import it again.", err=True)
            sys.exit(1)
    for warning in summary.warnings:
        click.secho(f"Warning: {warning}", fg="yellow", err=True)
    click.echo(f"{summary}. Run 'mintqo-lms provision --cohort {cohort}' to put them into Moodle.")


@main.command()
@click.option("--cohort", required=True, type=COHORT_KEY, help="Cohort key, e.g. 2025.")
@click.option("--dry-run", is_flag=True, help="Only print the plan.")
@click.pass_context
def provision(ctx: click.Context, cohort: str, dry_run: bool) -> None:
    """Create what the templates and the roster want in Moodle (never deletes)."""
    config = _config(ctx)
    with _writing_store(config, f"mintqo-lms provision --cohort {cohort}{' --dry-run' if dry_run else ''}") as store:
        run_provision(Moodle(config.client()), store, config, cohort, dry_run=dry_run)


def run_provision(moodle: Moodle, store: Store, config: Config, cohort: str, *, dry_run: bool = False,
                  echo=click.echo):
    """Provision with a plan table and a progress bar; shared by `provision` and `demo`."""
    from mintqo_lms.provision import provision as do_provision

    bar = None

    def progress(label: str, done: int, total: int) -> None:
        nonlocal bar
        if total < 3 or not sys.stderr.isatty():  # a bar in a log file is only noise
            return
        if bar is None:
            bar = click.progressbar(length=total, label=label, file=sys.stderr)
            bar.__enter__()
        bar.update(done - bar.pos)
        if done >= total:
            bar.__exit__(None, None, None)

    result = do_provision(moodle, store, config, cohort, dry_run=dry_run, progress=progress)
    echo(f"Plan for cohort {cohort}:")
    echo(result.plan.table())
    for warning in result.plan.warnings:
        click.secho(f"Warning: {warning}", fg="yellow", err=True)
    if dry_run:
        echo("Dry run: nothing changed.")
    elif not result.plan.has_work:
        echo(f"Everything is up to date ({result.calls} web-service calls, no changes).")
    else:
        number = store.run_number(result.run_id)  # dry runs and other cohorts' runs are not counted
        echo(f"Applied: {result.summary()} ({result.calls} web-service calls; run #{number} of cohort {cohort}).")
    return result


@main.command()
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default="mintqo-demo", show_default=True,
              help="Folder for the store and the files the demo produces.")
@click.option("--cohort", default="2025", show_default=True, type=COHORT_KEY)
@click.option("--full-size", is_flag=True, help="A realistic cohort: 20 coordinators, 150 initiatives of three.")
@click.option("--latency", type=float, default=0.0, help="Seconds the sandbox waits per call (to feel a real site).")
def demo(out_dir: str, cohort: str, full_size: bool, latency: float) -> None:
    """Run the whole job on the bundled sandbox Moodle: provision, simulate, sync, write results."""
    from mintqo_lms.demo import run_demo

    result = run_demo(out_dir, cohort=cohort, full_size=full_size, latency=latency, echo=click.echo,
                      provision_runner=run_provision)
    click.echo(f"\nDone. Results in {result.out_dir.resolve()}:")
    for path in result.files:
        click.echo(f"  {path.name}")


# -- sync, attendance, serve, status (the sync service) ---------------------------------------------

@main.command()
@click.option("--cohort", type=COHORT_KEY, default=None, help="Cohort key, e.g. 2025.")
@click.option("--all", "all_cohorts", is_flag=True, help="Every active cohort (every cohort with provisioned courses).")
@click.option("--full", is_flag=True, help="Read everything from the start instead of since the cursors (converges "
                                           "to the same store; use after restoring a backup or when in doubt).")
@click.option("--resend-unknown", is_flag=True,
              help="Send again the feedback messages whose answer was lost (the person may have them).")
@click.pass_context
def sync(ctx: click.Context, cohort: str | None, all_cohorts: bool, full: bool, resend_unknown: bool) -> None:
    """Read enrolments and group memberships, completions and self-analysis answers changed since the last run
    into the store; then send each member of an initiative with a newly finished self-analysis its feedback
    message (feedback.messages). Refused while 'mintqo-lms serve' runs on the same store."""
    from mintqo_lms.scheduler import refuse_if_serving
    from mintqo_lms.sync import active_cohorts, check_syncable, sync_and_feedback

    if bool(cohort) == all_cohorts:
        raise click.UsageError("name one cohort with --cohort, or use --all for every active cohort")
    config = _config(ctx)
    refuse_if_serving(config.store.path)
    ok = True
    command = f"mintqo-lms sync {'--all' if all_cohorts else '--cohort ' + str(cohort)}{' --full' if full else ''}"
    with _writing_store(config, command) as store:
        if cohort:
            check_syncable(store, cohort)  # before the token is even read: a typo in the cohort is the first error
        cohorts = [cohort] if cohort else active_cohorts(store)
        if not cohorts:
            click.echo("No cohort has provisioned courses yet; nothing to sync.")
            return
        moodle = Moodle(config.client())
        for key in cohorts:
            try:
                result, feedback = sync_and_feedback(moodle, store, key, config, full=full,
                                                     resend_unknown=resend_unknown)
            except MintqoError as exc:
                if not all_cohorts:
                    raise
                click.secho(redact_secrets(f"Error: cohort {key}: {exc}"), fg="red", err=True)
                ok = False
                continue
            click.echo(f"Synced cohort {key}{' (full)' if full else ''}: {result} "
                       f"({result.total_calls} web-service calls).")
            ok = _echo_feedback(feedback) and ok
    if not ok:
        sys.exit(1)


def _echo_feedback(feedback) -> bool:
    if feedback is None:
        return True
    click.echo(feedback.summary())
    _echo_unsent(feedback.without_account, feedback.failed, feedback.unknown, feedback.stopped,
                 no_account="No feedback: {name} has no Moodle account yet (run provision first).",
                 failed="Failed: feedback to {name}: {why} — the next sync tries again.",
                 unknown="Unknown: {name} may have the feedback message already (Moodle's answer was lost); it is "
                         "not sent again on its own — check in Moodle, then run sync --resend-unknown.",
                 stopped="Stopped sending feedback: {stopped}")
    return feedback.ok


def _echo_unsent(without_account, failed_people: dict, unknown_people, stopped_by, *, no_account: str, failed: str,
                 unknown: str, stopped: str) -> None:
    """Whom a run could not message, one line each on stderr: no Moodle account, failed (``{name}``, ``{why}``),
    unknown (Moodle's answer lost: never re-sent on its own) and, if it stopped sending, why (``{stopped}``)."""
    for name in without_account:
        click.secho(no_account.format(name=name), fg="yellow", err=True)
    for name, why in failed_people.items():
        click.secho(failed.format(name=name, why=why), fg="red", err=True)
    for name in unknown_people:
        click.secho(unknown.format(name=name), fg="yellow", err=True)
    if stopped_by:
        click.secho(stopped.format(stopped=stopped_by), fg="red", err=True)


@main.group()
def attendance() -> None:
    """Attendance of in-person workshops, recorded by staff from the sheet kept at the workshop."""


@attendance.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@cohort_option()
@click.option("--activity", "activity_key", required=True, metavar="KEY",
              help="The in-person activity's key in the curriculum, e.g. kickoff-teilnahme or ws1-teilnahme.")
@click.option("--network", default=None,
              help="For a workshop of the regional cycle (ws1-teilnahme …): the network (slug or full name).")
@click.option("--by", "recorded_by", default=None, help="Who recorded the attendance (default: your login name).")
@click.pass_context
def attendance_import(ctx: click.Context, file: str, cohort: str, activity_key: str, network: str | None,
                      recorded_by: str | None) -> None:
    """Check FILE (CSV or .xlsx: E-Mail; anwesend ja/nein/x/1/0) and record it: in the store, and in Moodle as
    the activity's completion overridden by the service user — only what differs from what was recorded."""
    from mintqo_lms.attendance import AttendanceError, import_attendance

    config = _config(ctx)
    command = f"mintqo-lms attendance import {Path(file).name} --cohort {cohort} --activity {activity_key}"
    with _writing_store(config, command) as store:
        try:
            result = import_attendance(None, store, file, cohort, activity_key, network=network,
                                       recorded_by=recorded_by, templates_root=config.programme.templates_dir,
                                       moodle_factory=lambda: Moodle(config.client()))
        except AttendanceError as exc:
            click.secho(str(exc), fg="red", err=True)
            click.echo("Nothing was recorded. Correct the sheet and import it again.", err=True)
            sys.exit(1)
    click.echo(result.summary())


@main.command()
@click.pass_context
def serve(ctx: click.Context) -> None:
    """Sync every active cohort on the timetable of [sync] (every_minutes or at), until SIGTERM or Ctrl+C.
    One serve per store; one log line per run; a failed run is retried after a backoff."""
    from mintqo_lms.scheduler import Service, Timetable, serve_lock, sync_all_job

    config = _config(ctx)
    if not config.store.path.exists():
        from mintqo_lms.store import StoreError

        raise StoreError(f"no store at {config.store.path}: run 'mintqo-lms init' and provision first, "
                         f"or check store.path in {config.where}")
    config.token()  # a missing token is a config error now, not a failed run every hour
    timetable = Timetable(every_minutes=config.sync.every_minutes, at=tuple(config.sync.at),
                          retry_minutes=config.sync.retry_minutes)
    with serve_lock(config.store.path):
        Service(sync_all_job(config), timetable, echo=lambda line: click.echo(redact_secrets(line))).loop()


@main.command()
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.pass_context
def status(ctx: click.Context, fmt: str) -> None:
    """Last sync runs per cohort (when, how long, rows, calls, errors), the cursors and their age, and whether
    a serve is running. Reads only."""
    import json

    from mintqo_lms.status import collect, render
    from mintqo_lms.store import StoreError

    config = _config(ctx)
    if not config.store.path.exists():
        raise StoreError(f"no store at {config.store.path}: check store.path in {config.where}")
    with Store(config.store.path, migrate_to=None) as store:
        info = collect(store, config.store.path)
    click.echo(json.dumps(info.as_dict(), indent=2) if fmt == "json" else render(info))


@main.command()
@click.option("--cohort", required=True, type=COHORT_KEY, help="Cohort key, e.g. 2025.")
@click.option("--dry-run", is_flag=True, help="Only list who would get an invitation.")
@click.option("--resend", "resend", metavar="EMAIL", multiple=True,
              help="Invite EMAIL again even if invited before (repeatable).")
@click.pass_context
def invite(ctx: click.Context, cohort: str, dry_run: bool, resend: tuple[str, ...]) -> None:
    """Send a German invitation (login page, username, how to set a password) to everyone of COHORT who has
    not had one; nobody gets it twice. Provisioning itself never sends mail."""
    from mintqo_lms.invite import invite as do_invite

    config = _config(ctx)
    command = f"mintqo-lms invite --cohort {cohort}{' --dry-run' if dry_run else ''}"
    with _writing_store(config, command) as store:
        moodle = Moodle(config.client())
        result = do_invite(moodle, store, cohort, site_url=moodle.client.url, dry_run=dry_run, resend=resend)
    if dry_run:
        for email in result.would_send:
            click.echo(f"  would invite {email}")
    click.echo(result.summary())
    for email in result.not_provisioned:
        click.secho(f"Not invited: {email} has no Moodle account yet (run provision first).", fg="yellow", err=True)
    for email, why in result.failed.items():
        click.secho(f"Failed: {email}: {why} — run invite again to retry.", fg="red", err=True)
    for email in result.uncertain:
        click.secho(f"Uncertain: {email} may have the invitation already (Moodle's answer was lost); it is not sent "
                    f"again on its own — check, then use --resend {email}.", fg="yellow", err=True)
    if result.stopped:
        click.secho(f"Stopped: {result.stopped}", fg="red", err=True)
    if not result.ok and not dry_run:
        sys.exit(1)


@main.group()
def people() -> None:
    """Explicit changes to people that provisioning never makes on its own."""


@people.command("remove")
@click.argument("email")
@click.option("--cohort", required=True, type=COHORT_KEY, help="Cohort key, e.g. 2025.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.pass_context
def people_remove(ctx: click.Context, email: str, cohort: str, yes: bool) -> None:
    """Unenrol EMAIL from every course of COHORT and take them off its roster (the account stays)."""
    from mintqo_lms.programme import remove_member

    config = _config(ctx)
    with _writing_store(config, f"mintqo-lms people remove {email} --cohort {cohort}") as store:
        if not yes:
            click.confirm(f"Unenrol {email} from all courses of cohort {cohort}?", abort=True)
        removed = remove_member(Moodle(config.client()), store, email, cohort)
    click.echo(f"Unenrolled {email} from {removed} course(s) of cohort {cohort}; the Moodle account is kept.")


@main.group()
def selfanalysis() -> None:
    """The self-analysis: scores and profiles of the initiatives, new instrument versions."""


@selfanalysis.command("profile")
@click.option("--cohort", required=True, type=COHORT_KEY, help="Cohort key, e.g. 2025.")
@click.option("--network", default=None, help="Only this network (slug or full name).")
@click.option("--initiative", default=None, help="Only this initiative (slug or full name).")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table", show_default=True)
@click.option("-o", "--out", "out", type=click.Path(dir_okay=False), default=None,
              help="With --format csv: write FILE.csv and FILE.xlsx (German Excel) instead of CSV on stdout.")
@click.pass_context
def selfanalysis_profile(ctx: click.Context, cohort: str, network: str | None, initiative: str | None, fmt: str,
                         out: str | None) -> None:
    """Per initiative its offer, each analysis (quiz, attempt, when), the score 0–100 per dimension and
    criterion, the change since the first analysis and the improvement potentials, as stored by sync."""
    import json

    from mintqo_lms.exports import CSV_ENCODING, write_table
    from mintqo_lms.profile import PROFILE_HEADER, profile, profile_csv, profile_rows, profile_table
    from mintqo_lms.store import LATEST_VERSION, StoreError

    config = _config(ctx)
    if out and fmt != "csv":
        raise click.UsageError("--out goes with --format csv")
    if not config.store.path.exists():
        raise StoreError(f"no store at {config.store.path}: run 'mintqo-lms init', 'roster import' and 'sync' "
                         f"first, or check store.path in {config.where}")
    root = str(config.programme.templates_dir) if config.programme.templates_dir else None
    with Store(config.store.path, migrate_to=None) as store:  # a report: reads, never migrates or locks
        if store.version < LATEST_VERSION:
            raise StoreError(f"the store {config.store.path} has no self-analysis scores yet (schema version "
                             f"{store.version}); run 'mintqo-lms sync --cohort {cohort}', which adds and fills them")
        data = profile(store, cohort, network=network, initiative=initiative)
        if fmt == "json":
            click.echo(json.dumps(data, ensure_ascii=False, indent=2))
        elif fmt == "table":
            click.echo(profile_table(store, data, templates_root=root))
        elif out:
            files = write_table(out, PROFILE_HEADER, profile_rows(store, data, templates_root=root),
                                sheet="Selbstanalyse-Profil")
            click.echo("Wrote " + " and ".join(str(f) for f in files) + ".")
        else:
            click.echo(profile_csv(store, data, templates_root=root).encode(CSV_ENCODING), nl=False)


@selfanalysis.command("publish")
@click.option("--cohort", required=True, type=COHORT_KEY, help="Cohort key, e.g. 2025.")
@click.option("--instrument", "instrument_ref", required=True, metavar="REF",
              help="The new instrument version, e.g. selfanalysis/v2.")
@click.pass_context
def selfanalysis_publish(ctx: click.Context, cohort: str, instrument_ref: str) -> None:
    """Place INSTRUMENT as quizzes in every regional course of COHORT next to the existing ones (same
    section and settings; the existing quizzes, attempts and answers stay untouched). Running it again
    changes nothing."""
    from mintqo_lms.publish import publish

    config = _config(ctx)
    command = f"mintqo-lms selfanalysis publish --cohort {cohort} --instrument {instrument_ref}"
    with _writing_store(config, command) as store:
        result = publish(Moodle(config.client()), store, config, cohort, instrument_ref)
    click.echo(result.summary())


@selfanalysis.command("export-xml")
@click.option("--instrument", "instrument_ref", required=True, metavar="REF", help="e.g. selfanalysis/v2.")
@click.option("-o", "--output", "output", required=True, type=click.Path(dir_okay=False, writable=True),
              help="The Moodle XML file to write (for Moodle's own question import dialog).")
@click.pass_context
def selfanalysis_export_xml(ctx: click.Context, instrument_ref: str, output: str) -> None:
    """Write INSTRUMENT as a Moodle XML question file (Question bank → Import → Moodle XML format)."""
    from mintqo_lms.instrument import to_moodle_xml
    from mintqo_lms.templates import load_instrument

    config = _config(ctx)
    root = str(config.programme.templates_dir) if config.programme.templates_dir else None
    instrument = load_instrument(instrument_ref, root)
    try:
        Path(output).write_text(to_moodle_xml(instrument), encoding="utf-8")
    except OSError as exc:
        raise click.ClickException(f"cannot write {output}: {exc.strerror}") from None
    click.echo(f"Wrote {len(instrument.statements())} statements of {instrument_ref} as Moodle XML to {output}.")


# -- privacy (GDPR requests of one person) -----------------------------------------------------------

@main.group()
def privacy() -> None:
    """A person's data: export everything the store holds about them, or forget them."""


@privacy.command("export")
@click.option("--email", required=True, help="The person's e-mail as on the roster.")
@click.option("-o", "--out", "out", type=click.Path(dir_okay=False), default=None,
              help="Write the JSON to FILE (mode 600) instead of stdout.")
@click.pass_context
def privacy_export(ctx: click.Context, email: str, out: str | None) -> None:
    """Everything the store holds about EMAIL as JSON (people, memberships, enrolments, completions, answers,
    scores, messages, certificates, runs that touched them). The request is logged without the e-mail."""
    import json

    from mintqo_lms.privacy import export_person, write_export

    config = _config(ctx)
    with _writing_store(config, "mintqo-lms privacy export") as store:
        data = export_person(store, email)
    if out:
        click.echo(f"Wrote {write_export(data, out)} (readable by you only).")
    else:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))


@privacy.command("forget")
@click.option("--email", required=True, help="The person's e-mail as on the roster.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.pass_context
def privacy_forget(ctx: click.Context, email: str, yes: bool) -> None:
    """Remove or pseudonymise everything the store holds about EMAIL and say what was done; a certificate
    keeps a record without the name (its code still verifies), the team's self-analysis stays the
    initiative's. Logged without the e-mail. Moodle's side: a deletion request in Moodle (printed)."""
    from mintqo_lms.privacy import MOODLE_SIDE_HINT, forget_person

    config = _config(ctx)
    with _writing_store(config, "mintqo-lms privacy forget") as store:
        if not yes:
            click.confirm(f"Forget {email} in the store {config.store.path}? This cannot be undone", abort=True)
        try:
            moodle = Moodle(config.client())  # only to republish a pseudonymised certificate record
        except MintqoError:
            moodle = None
        result = forget_person(store, email, moodle=moodle)
    for line in result.lines():
        click.echo(line)
    click.echo(MOODLE_SIDE_HINT)


# -- certificates of participation ------------------------------------------------------------------

def _reading_store(config: Config, cohort_hint: str = "C") -> Store:
    """The store for a read-only command (no lock, no migration): one that predates certificates says so."""
    from mintqo_lms.store import StoreError

    if not config.store.path.exists():
        raise StoreError(f"no store at {config.store.path}: run 'mintqo-lms init' first, or check store.path in "
                         f"{config.where}")
    store = Store(config.store.path, migrate_to=None)
    if store.version < 11:
        store.close()
        raise StoreError(f"the store {config.store.path} has no certificates yet (schema version {store.version}); "
                         f"run 'mintqo-lms certificates issue --cohort {cohort_hint}', which adds them")
    return store


def _site_url(config: Config) -> str:
    if not config.moodle.url:
        raise MintqoError(f"moodle.url is not set in {config.where}: the certificate's QR code points at the "
                          "site's local/mintqo/verify.php")
    return check_url(str(config.moodle.url))


@main.group()
def certificates() -> None:
    """Certificates of participation: issue (once per coordinator and cohort), list, verify, revoke."""


@certificates.command("issue")
@click.option("--cohort", required=True, type=COHORT_KEY, help="Cohort key, e.g. 2025.")
@click.option("--dry-run", is_flag=True, help="Only list who would get one (and what the others still lack).")
@click.pass_context
def certificates_issue(ctx: click.Context, cohort: str, dry_run: bool) -> None:
    """Issue a certificate (German PDF in certificates/ beside the store, a record, the plugin's verify page, a
    Moodle message when certificates.messages) to every coordinator of COHORT who meets the qualification
    template's rule and has none yet. Run sync first: eligibility is read from the store."""
    from mintqo_lms.certificates import issue_certificates

    config = _config(ctx)
    site = _site_url(config)
    command = f"mintqo-lms certificates issue --cohort {cohort}{' --dry-run' if dry_run else ''}"
    with _writing_store(config, command) as store:
        moodle = None if dry_run else Moodle(config.client())
        root = str(config.programme.templates_dir) if config.programme.templates_dir else None
        result = issue_certificates(store, cohort, site_url=site, moodle=moodle, dry_run=dry_run,
                                    notify=config.certificates.messages, templates_root=root)
    for name in result.would_issue:
        click.echo(f"  would issue: {name}")
    for code, name in result.issued:
        click.echo(f"  issued {code}: {name}")
    for name, missing in result.incomplete.items():
        click.echo(f"  not eligible: {name} — missing {', '.join(missing)}")
    click.echo(result.summary())
    if result.issued:
        click.echo(f"PDFs in {config.store.path.resolve().parent / 'certificates'} (readable by you only).")
    if result.publish is not None and result.publish.error:
        click.secho(f"Not published to Moodle's verify page: {result.publish.error} — the next 'certificates issue' "
                    "or 'certificates publish' tries again.", fg="red", err=True)
    _echo_unsent(result.without_account, result.messages_failed, result.messages_unknown, result.stopped,
                 no_account="No message: {name} has no Moodle account.",
                 failed="Failed: message to {name}: {why} — the next run tries again.",
                 unknown="Unknown: {name} may have the message already (Moodle's answer was lost); it is not sent "
                         "again on its own.",
                 stopped="Stopped sending messages: {stopped}")
    if not result.ok and not dry_run:
        sys.exit(1)


@certificates.command("list")
@click.option("--cohort", default=None, type=COHORT_KEY, help="Only this cohort.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.pass_context
def certificates_list(ctx: click.Context, cohort: str | None, fmt: str) -> None:
    """The certificates issued: code, cohort, name, network, date, valid/revoked, published, message."""
    import json

    from mintqo_lms.certificates import german_date, list_certificates

    store = _reading_store(_config(ctx), cohort or "C")
    with store:
        rows = list_certificates(store, cohort)
    if fmt == "json":
        keys = ("code", "cohort", "fullname", "network", "issued_at", "status", "revoked_at", "revoked_reason",
                "pdf_path", "published_state", "message_status")
        click.echo(json.dumps([{k: row[k] for k in keys} for row in rows], ensure_ascii=False, indent=2))
        return
    if not rows:
        click.echo("No certificates issued yet.")
        return
    for row in rows:
        name = row["fullname"] or "(pseudonymised)"
        state = row["status"] + (f" ({row['revoked_reason']})" if row["revoked_at"] else "")
        click.echo(f"{row['code']}  {row['cohort']}  {german_date(row['issued_at'])}  {state}  {name}"
                   f"{'  — ' + row['network'] if row['network'] else ''}  [verify page: "
                   f"{(row['published_state'] or 'not published').split(':')[0]}, message: "
                   f"{row['message_status'] or '—'}]")
    click.echo(f"{len(rows)} certificate(s).")


@certificates.command("verify")
@click.argument("code")
@click.pass_context
def certificates_verify(ctx: click.Context, code: str) -> None:
    """Say whether CODE is a valid, revoked or unknown certificate (exit 0, 2 or 3). Case, spaces and hyphens
    do not matter; a typo reads as unknown."""
    from mintqo_lms.certificates import verify_certificate

    with _reading_store(_config(ctx)) as store:
        answer = verify_certificate(store, code)
    click.echo(answer.line())
    sys.exit({"valid": 0, "revoked": 2}.get(answer.status, 3))


@certificates.command("revoke")
@click.argument("code")
@click.option("--reason", required=True, help="Why (kept in the store, never shown on the verify page).")
@click.pass_context
def certificates_revoke(ctx: click.Context, code: str, reason: str) -> None:
    """Revoke CODE (the record stays, marked revoked) and publish the revocation to Moodle's verify page."""
    from mintqo_lms.certificates import revoke_certificate

    config = _config(ctx)
    with _writing_store(config, f"mintqo-lms certificates revoke {code}") as store:
        row, changed, published = revoke_certificate(store, code, reason, moodle=Moodle(config.client()))
    click.echo(f"{'Revoked' if changed else 'Already revoked'}: {row['code']} ({row['fullname'] or 'pseudonymised'}, "
               f"cohort {row['cohort']}).")
    if published is not None and published.error:
        click.secho(f"Not yet revoked on Moodle's verify page: {published.error} — run 'mintqo-lms certificates "
                    "publish' when Moodle answers.", fg="red", err=True)
        sys.exit(1)
    click.echo("Moodle's verify page says revoked.")


@certificates.command("publish")
@click.option("--cohort", default=None, type=COHORT_KEY, help="Only this cohort.")
@click.pass_context
def certificates_publish(ctx: click.Context, cohort: str | None) -> None:
    """Send Moodle's verify page every certificate record it lacks (new, revoked, pseudonymised); idempotent."""
    from mintqo_lms.certificates import publish_certificates

    config = _config(ctx)
    with _writing_store(config, "mintqo-lms certificates publish") as store:
        result = publish_certificates(Moodle(config.client()), store, cohort=cohort)
    if result.error:
        click.secho(f"Not published: {result.error}", fg="red", err=True)
        sys.exit(1)
    click.echo(f"Published {len(result.published)} certificate record(s) ({result.calls} web-service calls).")


# -- progress and the dashboard (reports: read the store, never lock or migrate it) -------------------------

def _report_store(config: Config, cohort: str) -> Store:
    """The store opened for reading only (reports run beside a sync); a missing or old store is one line."""
    from mintqo_lms.store import LATEST_VERSION, StoreError

    if not config.store.path.exists():
        raise StoreError(f"no store at {config.store.path}: run 'mintqo-lms init', 'roster import' and 'sync' "
                         f"first, or check store.path in {config.where}")
    store = Store(config.store.path, migrate_to=None)
    if store.version < LATEST_VERSION:
        store.close()
        raise StoreError(f"the store {config.store.path} is at schema version {store.version}; run "
                         f"'mintqo-lms sync --cohort {cohort}', which brings it up to date")
    return store


@main.command("progress")
@click.option("--cohort", required=True, type=COHORT_KEY, help="Cohort key, e.g. 2025.")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "xlsx", "json"]), default="table",
              show_default=True)
@click.option("-o", "--out", "out", type=click.Path(dir_okay=False), default=None,
              help="csv: write FILE.csv instead of stdout; xlsx (required): FILE.xlsx with one sheet per regional "
                   "cycle; json: write FILE instead of stdout.")
@click.pass_context
def progress_command(ctx: click.Context, cohort: str, fmt: str, out: str | None) -> None:
    """Per coordinator: required modules complete, in-person workshops attended (recorded by staff; self-reported
    apart), what the certificate still needs, and the regional cycle (initiatives, workshops held, first and
    follow-up analyses, evidence for the regional allowance)."""
    import json

    from mintqo_lms.exports import CSV_DELIMITER, CSV_ENCODING, csv_cell
    from mintqo_lms.progress import (cohort_progress, overview_header, overview_rows, progress_json,
                                     progress_table, write_progress_csv, write_progress_xlsx)

    config = _config(ctx)
    if fmt == "xlsx" and not out:
        raise click.UsageError("--format xlsx needs --out FILE.xlsx")
    if fmt == "table" and out:
        raise click.UsageError("--out goes with --format csv, xlsx or json")
    root = str(config.programme.templates_dir) if config.programme.templates_dir else None
    with _report_store(config, cohort) as store:
        data = cohort_progress(store, cohort, templates_root=root)
    if fmt == "table":
        click.echo(progress_table(data))
    elif fmt == "json":
        text = json.dumps(progress_json(data), ensure_ascii=False, indent=2)
        if out:
            Path(out).write_text(text + "\n", encoding="utf-8")
            click.echo(f"Wrote {out}.")
        else:
            click.echo(text)
    elif fmt == "xlsx":
        click.echo(f"Wrote {write_progress_xlsx(data, out or '')}.")
    elif out:
        click.echo("Wrote " + ", ".join(str(f) for f in write_progress_csv(data, out)) + ".")
    else:
        import csv
        import io

        buffer = io.StringIO()
        writer = csv.writer(buffer, delimiter=CSV_DELIMITER, lineterminator="\r\n")
        for row in [overview_header(data), *overview_rows(data)]:
            writer.writerow([csv_cell(v) for v in row])
        click.echo(buffer.getvalue().encode(CSV_ENCODING), nl=False)


@main.command("report")
@click.option("--cohort", required=True, type=COHORT_KEY, help="Cohort key, e.g. 2025.")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False),
              help="Folder for dashboard.html and dashboard.xlsx (created if needed).")
@click.pass_context
def report_command(ctx: click.Context, cohort: str, out_dir: str) -> None:
    """The programme office's dashboard: one self-contained German HTML page (opens without network) and its
    tables as XLSX. Across initiatives only aggregates of at least five."""
    from mintqo_lms.reports import write_report

    config = _config(ctx)
    root = str(config.programme.templates_dir) if config.programme.templates_dir else None
    with _report_store(config, cohort) as store:
        result = write_report(store, cohort, out_dir, templates_root=root)
    click.echo("Wrote " + " and ".join(str(f) for f in result.files) + ".")


main.add_command(sandbox)

if __name__ == "__main__":
    main()
