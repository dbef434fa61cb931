"""``corpus-kit <stage>`` commands, generated from each built-in stage's parameter model.

The params model is the single source: every field becomes an option (``min_score`` ->
``--min-score``) with the field's description as help; a bool field becomes ``--x/--no-x``, a list
field takes a comma-separated value. Only options given on the command line reach the stage, which
validates them as YAML parameters are validated (one error line, exit 2), so defaults live in one
place: the model, or the stage's rule file.
"""

from __future__ import annotations

import inspect
import types
import typing
from pathlib import Path
from typing import Annotated, Any, Literal, get_args, get_origin

import typer
from pydantic.fields import FieldInfo

from corpus_kit.cli.common import KeepRemovedOption, OutputOption, handle_errors
from corpus_kit.stages.base import Stage
from corpus_kit.utils import split_list

InputsArgument = Annotated[
    list[str], typer.Argument(help="Input files, folders or globs.", show_default=False)
]


def _unwrap_optional(annotation: Any) -> Any:
    if get_origin(annotation) in (typing.Union, types.UnionType):
        members = [arg for arg in get_args(annotation) if arg is not type(None)]
        if len(members) == 1:
            return members[0]
        return members
    return annotation


def _plain(annotation: Any) -> Any:
    annotation = _unwrap_optional(annotation)
    return get_args(annotation)[0] if get_origin(annotation) is Annotated else annotation


def _option_type(annotation: Any) -> Any:
    """The type Typer parses an option as; pydantic does the real validation afterwards."""
    annotation = _plain(annotation)
    if isinstance(annotation, list):  # a union such as int | str: take it as text
        return str
    if get_origin(annotation) is list:
        return str  # comma-separated
    if get_origin(annotation) is Literal:
        return annotation
    if annotation in (bool, int, float, str, Path):
        return annotation
    return str


def _option(name: str, field: FieldInfo) -> inspect.Parameter:
    flag = "--" + name.replace("_", "-")
    kind = _option_type(field.annotation)
    help_text = field.description or ""
    default = field.get_default(call_default_factory=True)
    if default is not None and not isinstance(default, bool) and "[default" not in help_text:
        help_text = f"{help_text} [default: {default}]".strip()
    if kind is bool:
        option = typer.Option(f"{flag}/--no-{flag[2:]}", help=help_text, show_default=False)
    else:
        option = typer.Option(flag, help=help_text, show_default=False)
    return inspect.Parameter(
        name,
        inspect.Parameter.KEYWORD_ONLY,
        annotation=Annotated[kind | None, option],
        default=None,
    )


def stage_command(stage: Stage[Any]) -> typing.Callable[..., None]:
    """A Typer command running ``stage`` alone: ``corpus-kit NAME INPUT... -o OUT [options]``."""
    from corpus_kit.cli.pipelines import DatasetOptions, dataset_command, run_single_stage

    fields = stage.params_model.model_fields
    taken = {"inputs", "output", "keep_removed", "options", *DatasetOptions.__dataclass_fields__}
    if clashes := sorted(taken & set(fields)):
        raise ValueError(f"stage {stage.name!r}: parameter(s) {clashes} clash with the command's own options")
    list_fields = {name for name, field in fields.items() if get_origin(_plain(field.annotation)) is list}

    def command(**kwargs: Any) -> None:
        options: DatasetOptions = kwargs.pop("options")
        inputs, output = kwargs.pop("inputs"), kwargs.pop("output")
        keep_removed = bool(kwargs.pop("keep_removed", False))
        params = {name: value for name, value in kwargs.items() if value is not None}
        for name, value in params.items():
            if isinstance(value, Path):
                params[name] = str(value)
            elif name in list_fields:  # recorded in the manifest as a list, as YAML gives it
                params[name] = split_list(value)
        run_single_stage(stage.name, params, inputs, output, keep_removed, options)

    parameters = [
        inspect.Parameter("inputs", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=InputsArgument),
        inspect.Parameter("output", inspect.Parameter.KEYWORD_ONLY, annotation=OutputOption),
        *(_option(name, field) for name, field in fields.items()),
    ]
    if stage.drops_records():
        parameters.append(
            inspect.Parameter(
                "keep_removed", inspect.Parameter.KEYWORD_ONLY, annotation=KeepRemovedOption, default=False
            )
        )
    parameters.append(inspect.Parameter("options", inspect.Parameter.KEYWORD_ONLY, annotation=DatasetOptions))
    command.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    command.__annotations__ = {parameter.name: parameter.annotation for parameter in parameters}
    command.__name__ = stage.name
    from rich.markup import escape

    example = escape(stage.example.strip())
    command.__doc__ = (
        f"{stage.summary}\n\nParameters are the same as the pipeline step's"
        + (f" ({example})" if example else "")
        + "; defaults come from the stage and its rule file."
    )
    return handle_errors(dataset_command(command))


def builtin_stage_names() -> list[str]:
    """The built-in stages' names without importing them: the installed distribution's entry points
    (a test checks they match the stage classes), else, in a source checkout, the classes."""
    from importlib import metadata

    from corpus_kit.stages.registry import ENTRY_POINT_GROUP, builtin_stages

    try:
        entries = metadata.distribution("corpus-kit").entry_points
    except metadata.PackageNotFoundError:
        return list(builtin_stages())
    names = [entry.name for entry in entries if entry.group == ENTRY_POINT_GROUP]
    return names or list(builtin_stages())


def click_stage_command(name: str) -> Any:
    """The click command of a built-in stage (Typer builds it from :func:`stage_command`)."""
    from corpus_kit.stages.registry import get_stage

    single = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
    single.command(name=name)(stage_command(get_stage(name)))
    return typer.main.get_command(single)
