"""Configuration: one TOML file, with the Moodle URL and token overridable from the environment.

Lookup order: ``--config PATH``, else ``$MINTQO_CONFIG``, else ``./mintqo.toml``. ``MINTQO_MOODLE_URL`` and
``MINTQO_MOODLE_TOKEN`` override the file so a token need not be written into it at all; a token may also
live in a file of its own (``moodle.token_file``), which we warn about when others can read it.
Every error names the file and the key, because a config is edited by hand.
"""

from __future__ import annotations

import logging
import os
import stat
import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from mintqo_lms.moodle.client import MoodleClient, check_url
from mintqo_lms.moodle.errors import ConfigError, InsecureURLError

log = logging.getLogger(__name__)

DEFAULT_CONFIG_NAME = "mintqo.toml"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MoodleSettings(_Section):
    url: str = ""
    token: str = Field(default="", repr=False)
    token_file: Path | None = None
    allow_insecure_http: bool = False
    connect_timeout: float = Field(default=5.0, gt=0)
    read_timeout: float = Field(default=60.0, gt=0)
    retries: int = Field(default=3, ge=0, le=10)
    max_form_fields: int = Field(default=1000, ge=50)
    lang: str = "de"


class StoreSettings(_Section):
    path: Path = Path("mintqo.db")


class SyncSettings(_Section):
    every_minutes: int = Field(default=60, ge=1)
    at: list[str] = Field(default_factory=list)
    page_size: int = Field(default=1000, ge=1, le=5000)
    retry_minutes: float = Field(default=5.0, gt=0)   # serve: first retry after a failed run (doubles)
    # serve: the first run after this time of day reads everything again (sync --full). Moodle's cron dates a
    # course completion back to when its last criterion was met, which can lie behind a cursor; "" = never.
    full_at: str = "03:15"

    @field_validator("at")
    @classmethod
    def _times(cls, value: list[str]) -> list[str]:
        for item in value:
            _check_time_of_day(item)
        return value

    @field_validator("full_at")
    @classmethod
    def _full_time(cls, value: str) -> str:
        return _check_time_of_day(value) if value else value


def _check_time_of_day(item: str) -> str:
    hours, _, minutes = item.partition(":")
    if not (hours.isdigit() and minutes.isdigit() and int(hours) < 24 and int(minutes) < 60):
        raise ValueError(f"'{item}' is not a time of day like 06:30")
    return item


class FeedbackSettings(_Section):
    messages: bool = True   # a German Moodle message to every member after a newly finished self-analysis


class CertificateSettings(_Section):
    messages: bool = True   # certificates issue: a German Moodle message to each new holder (code and verify link)


class RoleSettings(_Section):
    manager: int = 1
    editingteacher: int = 3
    teacher: int = 4
    student: int = 5


class ProgrammeSettings(_Section):
    root_category_idnumber: str = "mintqo:root"
    root_category_name: str = "MINT-Qualitätsoffensive"
    templates_dir: Path | None = None


class Config(_Section):
    moodle: MoodleSettings = Field(default_factory=MoodleSettings)
    store: StoreSettings = Field(default_factory=StoreSettings)
    sync: SyncSettings = Field(default_factory=SyncSettings)
    feedback: FeedbackSettings = Field(default_factory=FeedbackSettings)
    certificates: CertificateSettings = Field(default_factory=CertificateSettings)
    roles: RoleSettings = Field(default_factory=RoleSettings)
    programme: ProgrammeSettings = Field(default_factory=ProgrammeSettings)
    source: Path | None = Field(default=None, exclude=True)

    def __repr__(self) -> str:  # the token field is repr=False already; keep the summary short
        return f"Config(source={self.source}, moodle.url={self.moodle.url!r})"

    @property
    def where(self) -> str:
        return str(self.source) if self.source else "(environment)"

    def token(self) -> str:
        """The token, from the environment, the file, or the token file — in that order."""
        if self.moodle.token:
            return self.moodle.token
        if self.moodle.token_file:
            path = self.moodle.token_file
            try:
                mode = path.stat().st_mode
                text = path.read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise ConfigError(f"cannot read token file {path}: {exc.strerror}", key="moodle.token_file",
                                  file=self.where) from None
            if mode & (stat.S_IRGRP | stat.S_IROTH):
                log.warning("token file %s is readable by other users; run: chmod 600 %s", path, path)
            if not text:
                raise ConfigError(f"token file {path} is empty", key="moodle.token_file", file=self.where)
            return text
        raise ConfigError("no Moodle token: set moodle.token_file, moodle.token or MINTQO_MOODLE_TOKEN",
                          key="moodle.token", file=self.where)

    def client(self) -> MoodleClient:
        if not self.moodle.url:
            raise ConfigError("no Moodle URL: set moodle.url or MINTQO_MOODLE_URL", key="moodle.url",
                              file=self.where)
        try:
            check_url(self.moodle.url, allow_insecure_http=self.moodle.allow_insecure_http)
        except InsecureURLError as exc:
            raise InsecureURLError(str(exc), key="moodle.url", file=self.where) from None
        return MoodleClient(
            self.moodle.url,
            self.token(),
            allow_insecure_http=self.moodle.allow_insecure_http,
            timeout=(self.moodle.connect_timeout, self.moodle.read_timeout),
            retries=self.moodle.retries,
            max_form_fields=self.moodle.max_form_fields,
        )


def find_config_path(explicit: str | os.PathLike[str] | None = None) -> Path | None:
    if explicit:
        return Path(explicit)
    if os.environ.get("MINTQO_CONFIG"):
        return Path(os.environ["MINTQO_CONFIG"])
    local = Path(DEFAULT_CONFIG_NAME)
    return local if local.exists() else None


def load_config(path: str | os.PathLike[str] | None = None, *, environ: dict[str, str] | None = None,
                require_file: bool = False) -> Config:
    """Load and validate the config; relative paths in it are relative to the file's folder."""
    env = os.environ if environ is None else environ
    source = find_config_path(path)
    data: dict[str, Any] = {}
    if source is not None:
        try:
            data = tomllib.loads(source.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError("config file not found", file=str(source)) from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"not valid TOML: {exc}", file=str(source)) from None
        except UnicodeDecodeError:
            raise ConfigError("config file is not UTF-8", file=str(source)) from None
        except OSError as exc:  # a folder, no permission …
            raise ConfigError(f"cannot read the config file: {exc.strerror}", file=str(source)) from None
    elif require_file:
        raise ConfigError(f"no config found: pass --config, set MINTQO_CONFIG or create ./{DEFAULT_CONFIG_NAME} "
                          "(mintqo-lms init writes one)")
    moodle = data.setdefault("moodle", {})
    if isinstance(moodle, dict):
        if env.get("MINTQO_MOODLE_URL"):
            moodle["url"] = env["MINTQO_MOODLE_URL"]
        if env.get("MINTQO_MOODLE_TOKEN"):
            moodle["token"] = env["MINTQO_MOODLE_TOKEN"]
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(part) for part in first["loc"])
        message = first["msg"].removeprefix("Value error, ").replace("Extra inputs are not permitted", "unknown key")
        if first["type"] not in ("value_error", "extra_forbidden", "missing") and "input" in first \
                and not isinstance(first["input"], (dict, list)):
            message += f" (got {first['input']!r})"
        raise ConfigError(message, key=key, file=str(source) if source else "(defaults)") from None
    config.source = source
    base = source.parent if source else Path.cwd()
    if not config.store.path.is_absolute():
        config.store.path = base / config.store.path
    if config.moodle.token_file and not config.moodle.token_file.expanduser().is_absolute():
        config.moodle.token_file = base / config.moodle.token_file
    elif config.moodle.token_file:
        config.moodle.token_file = config.moodle.token_file.expanduser()
    if config.programme.templates_dir and not config.programme.templates_dir.is_absolute():
        config.programme.templates_dir = base / config.programme.templates_dir
    return config


EXAMPLE_CONFIG = """\
# mintqo-lms configuration. Paths are relative to this file.
# MINTQO_MOODLE_URL and MINTQO_MOODLE_TOKEN in the environment override [moodle] url and token.

[moodle]
url = "https://moodle.example.org"
# The token of the "MINT-QO Sync" service (see moodle/local/mintqo/README.md).
# Keep it in a file only you can read (chmod 600), never in this file if it is shared.
token_file = "mintqo.token"
# Plain http:// is refused for any host but loopback unless this is set.
allow_insecure_http = false
connect_timeout = 5
read_timeout = 60
retries = 3
# Stay well below PHP's max_input_vars (Moodle requires >= 5000; the PHP default is 1000).
max_form_fields = 1000
# Language of the accounts we create; falls back to the site language when the pack is missing.
lang = "de"

[store]
path = "mintqo.db"

[sync]
# Run the sync every N minutes, or at fixed times of day ("06:30").
every_minutes = 60
at = []
page_size = 1000
# mintqo-lms serve: after a failed run, retry after this many minutes (doubling, never past the next run).
retry_minutes = 5
# mintqo-lms serve: the first run after this time of day re-reads everything (sync --full); "" = never.
full_at = "03:15"

[feedback]
# After a newly finished self-analysis, sync sends each member of the initiative one German Moodle message
# with the team's results (once per analysis and person). false turns it off.
messages = true

[certificates]
# 'certificates issue' sends each new holder one German Moodle message with the verification code and link
# (once per certificate). false turns it off.
messages = true

[roles]
# Role ids of the site (standard Moodle ids shown).
manager = 1
editingteacher = 3
teacher = 4
student = 5

[programme]
root_category_idnumber = "mintqo:root"
root_category_name = "MINT-Qualitätsoffensive"
"""
