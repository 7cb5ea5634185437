"""Study definition: a TOML file read with ``tomllib`` and validated into a ``Study``.

Every problem raises :class:`StudyError` with one plain line naming the key at fault.
Film paths are relative to the study file; ``[cases] folder = "DIR"`` (or the same under
``[training]``) takes every film in a folder, sorted by name, training films left out of
the cases. See ``resources/study_example.toml``.

Designs and question kinds:
  * ``single``: one image per trial (every case x every condition, ``original`` included);
    questions of kind ``likert`` (1..5).
  * ``paired``: a condition beside the original, left/right random per trial; kinds
    ``vga`` (right image relative to the left one, -2..+2; analysis turns it into
    "condition relative to original") and ``2afc`` (which image is better: left/right).

Keys of ``[study]``: title, design, seed (an integer 0..2**32-1), readers, crop,
``order`` ("by_case": a case's conditions read one after the other, in a random order;
"random": all trials mixed) and ``link_views`` (true: the panes share zoom, pan and
window/level).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import tomllib

from xrayview.core.enhance.recipe import Dehazing, Recipe, RecipeError
from xrayview.core.enhance.stop_rule import METRIC_NAMES
from xrayview.core.models import registry

DESIGNS = ("single", "paired")
KINDS = {"single": ("likert",), "paired": ("vga", "2afc")}
DEFAULT_LABELS = {
    "likert": ["1 very poor", "2 poor", "3 fair", "4 good", "5 excellent"],
    "vga": ["-2 much worse", "-1 worse", "0 equal", "+1 better", "+2 much better"],
    "2afc": ["left", "right"],
}
VALUES = {"likert": [1, 2, 3, 4, 5], "vga": [-2, -1, 0, 1, 2], "2afc": ["left", "right"]}
MAX_SEED = 2**32 - 1
ORDERS = ("by_case", "random")
_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$")


class StudyError(ValueError):
    """A study file or study folder that cannot be used; the message is one line."""


@dataclass(frozen=True)
class Condition:
    """How one condition's image is made: ``model`` x ``scale``, then at most
    ``dehaze_steps`` dehazing steps under a stop rule (``stop_metric``, ``stop_threshold``
    (None: the metric's default), ``stop_when`` "below"/"above" (None: the metric's
    default direction), ``stop_rollback``, ``stop_diverging`` (the divergence rule,
    ``StopRule.diverging``)). :meth:`recipe` is what the pipeline runs."""

    name: str
    model: str = registry.BICUBIC
    scale: int = 1
    dehaze_steps: int = 0
    stop_threshold: float | None = None
    stop_metric: str = "ssim_input"
    stop_when: str | None = None
    stop_rollback: bool = False
    stop_diverging: bool = True

    def recipe(self) -> Recipe:
        """The pipeline recipe of this condition (RecipeError when it cannot be run)."""
        dehazing = None
        if self.dehaze_steps:
            dehazing = Dehazing(metric=self.stop_metric, threshold=self.stop_threshold,
                                stop_below=None if self.stop_when is None
                                else self.stop_when == "below",
                                max_steps=self.dehaze_steps, rollback=self.stop_rollback,
                                diverging=self.stop_diverging)
        # fp32, not "auto": a study's images must be the same pixels on every preparation,
        # whatever the CPU's bf16 speed probe finds at that moment
        return Recipe(model=self.model, scale=self.scale, dehazing=dehazing, precision="fp32")


@dataclass(frozen=True)
class Question:
    """One question; ``values`` are what is stored, ``labels`` what the reader sees."""

    id: str
    kind: str
    text: str
    labels: list[str]
    values: list[Any]


@dataclass(frozen=True)
class Case:
    """A film of the study: ``id`` (c01, t01, ...) and its absolute ``path``."""

    id: str
    path: str
    training: bool = False


@dataclass
class Study:
    """A validated study definition."""

    title: str
    design: str
    seed: int
    cases: list[Case]
    conditions: list[Condition]
    questions: list[Question]
    readers: list[str] = field(default_factory=list)
    crop: int = 0
    order: str = "by_case"
    link_views: bool = True

    def as_dict(self) -> dict[str, Any]:
        """Plain data (for ``study.json`` in a prepared folder)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Study:
        """Inverse of :meth:`as_dict` (StudyError for a seed out of range)."""
        study = cls(d["title"], d["design"], check_seed(d["seed"]),
                    [Case(**c) for c in d["cases"]],
                    [Condition(**c) for c in d["conditions"]],
                    [Question(**q) for q in d["questions"]], list(d["readers"]),
                    int(d.get("crop", 0)), str(d.get("order", "by_case")),
                    bool(d.get("link_views", True)))
        if study.order not in ORDERS:
            raise StudyError(f"study: order must be 'by_case' or 'random', not {study.order!r}.")
        return study

    @property
    def grid_scale(self) -> int:
        """Prepared-image pixels per film pixel, the same for every condition: the largest
        condition scale (every image of a case is prepared on that one grid)."""
        return max(c.scale for c in self.conditions)


def check_seed(seed: Any) -> int:
    """``seed`` if it is an integer 0..2**32-1, else StudyError (one line)."""
    if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed <= MAX_SEED:
        raise StudyError(f"study: seed must be an integer from 0 to {MAX_SEED}, not {seed!r}.")
    return seed


def _need(table: dict, key: str, kind: type | tuple, where: str) -> Any:
    if key not in table:
        raise StudyError(f"{where}: missing key '{key}'.")
    value = table[key]
    if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
        raise StudyError(f"{where}: '{key}' has the wrong type ({type(value).__name__}).")
    return value


def _condition(name: str, raw: Any) -> Condition:
    where = f"conditions.{name}"
    if not _NAME.match(name):
        raise StudyError(f"{where}: names use letters, digits, '_', '-' and '.' only.")
    if not isinstance(raw, dict):
        raise StudyError(f"{where}: must be a table (model, scale, dehaze_steps).")
    unknown = set(raw) - {"model", "scale", "dehaze_steps", "stop_threshold", "stop_metric",
                          "stop_when", "stop_rollback", "stop_diverging"}
    if unknown:
        raise StudyError(f"{where}: unknown key '{sorted(unknown)[0]}'.")
    model = raw.get("model", registry.BICUBIC)
    choices = registry.model_choices()
    if model not in choices:
        raise StudyError(f"{where}: model must be one of {', '.join(choices)}, not {model!r}.")
    scale = raw.get("scale", 1)
    if not isinstance(scale, int) or isinstance(scale, bool) or scale not in (1, 2, 3, 4):
        raise StudyError(f"{where}: scale must be 1, 2, 3 or 4, not {scale!r}.")
    steps = raw.get("dehaze_steps", 0)
    if not isinstance(steps, int) or isinstance(steps, bool) or not 0 <= steps <= 50:
        raise StudyError(f"{where}: dehaze_steps must be an integer 0..50, not {steps!r}.")
    metric = raw.get("stop_metric", "ssim_input")
    if metric not in METRIC_NAMES:
        raise StudyError(f"{where}: stop_metric must be one of {', '.join(METRIC_NAMES)}, "
                         f"not {metric!r}.")
    thr = raw.get("stop_threshold")
    if thr is not None and (not isinstance(thr, (int, float)) or isinstance(thr, bool)
                            or thr != thr or abs(thr) == float("inf")):
        raise StudyError(f"{where}: stop_threshold must be a finite number, not {thr!r}.")
    when = raw.get("stop_when")
    if when not in (None, "below", "above"):
        raise StudyError(f"{where}: stop_when must be 'below' or 'above', not {when!r}.")
    rollback = raw.get("stop_rollback", False)
    if not isinstance(rollback, bool):
        raise StudyError(f"{where}: stop_rollback must be true or false.")
    diverging = raw.get("stop_diverging", True)
    if not isinstance(diverging, bool):
        raise StudyError(f"{where}: stop_diverging must be true or false.")
    if name == "original" and (model != registry.BICUBIC or scale != 1 or steps):
        raise StudyError(f"{where}: 'original' must be the unprocessed film (model none, "
                         "scale 1, no dehazing).")
    cond = Condition(name, model, scale, steps, None if thr is None else float(thr), metric,
                     when, rollback, diverging)
    try:
        cond.recipe()
    except RecipeError as exc:
        raise StudyError(f"{where}: {exc}.") from None
    return cond


def _question(i: int, raw: Any, design: str) -> Question:
    where = f"questions[{i}]"
    if not isinstance(raw, dict):
        raise StudyError(f"{where}: must be a table with id, kind and text.")
    qid = _need(raw, "id", str, where)
    if not _NAME.match(qid):
        raise StudyError(f"{where}: id {qid!r} uses letters, digits, '_', '-' and '.' only.")
    kind = _need(raw, "kind", str, where)
    if kind not in KINDS[design]:
        raise StudyError(f"{where}: kind {kind!r} does not fit design '{design}' (allowed: "
                         f"{', '.join(KINDS[design])}).")
    text = _need(raw, "text", str, where).strip()
    if not text:
        raise StudyError(f"{where}: empty text.")
    labels = raw.get("labels", DEFAULT_LABELS[kind])
    if (not isinstance(labels, list) or len(labels) != len(VALUES[kind])
            or not all(isinstance(s, str) and s for s in labels)):
        raise StudyError(f"{where}: labels must be {len(VALUES[kind])} non-empty strings.")
    return Question(qid, kind, text, list(labels), list(VALUES[kind]))


def _cases(raw: Any, base: Path, key: str, prefix: str) -> list[Case]:
    if not isinstance(raw, list) or not all(isinstance(p, str) and p for p in raw):
        raise StudyError(f"{key}: must be a list of film paths (relative to the study file).")
    out = []
    for i, rel in enumerate(raw, 1):
        path = (base / rel).resolve()
        if not path.is_file():
            raise StudyError(f"{key}[{i - 1}]: film not found: {rel}")
        out.append(Case(f"{prefix}{i:02d}", str(path), training=prefix == "t"))
    if len({c.path for c in out}) != len(out):
        raise StudyError(f"{key}: the same film is listed twice.")
    return out


FILM_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".dcm")


def _folder_films(table: dict, base: Path, key: str, skip: set[str]) -> list[str]:
    """The films of ``table["folder"]`` (relative to ``base``), sorted by name, as paths
    relative to ``base``; files in ``skip`` (absolute) are left out."""
    if "films" in table:
        raise StudyError(f"{key}: give either 'films' or 'folder', not both.")
    rel = table["folder"]
    if not isinstance(rel, str) or not rel:
        raise StudyError(f"{key}.folder: must be a folder path (relative to the study file).")
    folder = (base / rel).resolve()
    if not folder.is_dir():
        raise StudyError(f"{key}.folder: folder not found: {rel}")
    found = sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")
                   and p.suffix.lower() in FILM_SUFFIXES and str(p) not in skip)
    if not found:
        raise StudyError(f"{key}.folder: no films ({', '.join(FILM_SUFFIXES)}) in {rel}")
    return [str(p) for p in found]


def parse_study(data: dict[str, Any], base: Path) -> Study:
    """Validate a parsed TOML document; film paths are resolved against ``base``."""
    study = data.get("study")
    if not isinstance(study, dict):
        raise StudyError("missing table [study] (title, design, seed).")
    title = study.get("title", "Reader study")
    design = _need(study, "design", str, "study")
    if design not in DESIGNS:
        raise StudyError(f"study: design must be 'single' or 'paired', not {design!r}.")
    seed = check_seed(_need(study, "seed", int, "study"))
    readers = study.get("readers", [])
    if not isinstance(readers, list) or not all(isinstance(r, str) and _NAME.match(r)
                                                for r in readers):
        raise StudyError("study: readers must be a list of names (letters, digits, _ - .).")
    crop = study.get("crop", 0)
    if not isinstance(crop, int) or isinstance(crop, bool) or not (crop == 0 or crop >= 16):
        raise StudyError(f"study: crop must be 0 (whole film) or at least 16, not {crop!r}.")
    order = study.get("order", "by_case")
    if order not in ORDERS:
        raise StudyError(f"study: order must be 'by_case' or 'random', not {order!r}.")
    link = study.get("link_views", True)
    if not isinstance(link, bool):
        raise StudyError("study: link_views must be true or false.")
    conds_raw = data.get("conditions")
    if not isinstance(conds_raw, dict) or not conds_raw:
        raise StudyError("missing [conditions]: at least 'original' and one other.")
    conditions = [_condition(n, r) for n, r in conds_raw.items()]
    if "original" not in conds_raw:
        raise StudyError("conditions: 'original' is required (the reference).")
    if len(conditions) < 2:
        raise StudyError("conditions: need 'original' and at least one other condition.")
    qs_raw = data.get("questions")
    if not isinstance(qs_raw, list) or not qs_raw:
        raise StudyError("missing [[questions]]: at least one question.")
    questions = [_question(i, q, design) for i, q in enumerate(qs_raw)]
    if len({q.id for q in questions}) != len(questions):
        raise StudyError("questions: two questions share an id.")
    training_tab = data.get("training", {})
    if not isinstance(training_tab, dict):
        raise StudyError("training: must be a table (films = [...] or folder = ...).")
    training = (_folder_films(training_tab, base, "training", set())
                if "folder" in training_tab else training_tab.get("films", []))
    cases_tab = _need(data, "cases", dict, "file")
    films = cases_tab.get("films")
    if "folder" in cases_tab:  # every film of the folder except the training ones
        films = _folder_films(cases_tab, base, "cases",
                              {str((base / t).resolve()) for t in training
                               if isinstance(t, str)})
    cases = _cases(films, base, "cases.films", "c")
    if not cases:
        raise StudyError("cases.films: at least one film.")
    cases += _cases(training, base, "training.films", "t")
    if len({c.path for c in cases}) != len(cases):
        raise StudyError("training.films: a training film is also a study case.")
    return Study(str(title), design, seed, cases, conditions, questions, readers, crop,
                 order, link)


def load_study(path: str | Path) -> Study:
    """Read and validate a study TOML file; raises StudyError with one line."""
    p = Path(path)
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise StudyError(f"study file not found: {p}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise StudyError(f"cannot read study file {p}: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise StudyError(f"{p.name} is not valid TOML: {exc}") from None
    return parse_study(data, p.resolve().parent)
