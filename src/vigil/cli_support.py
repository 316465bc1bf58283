"""What every command-line module shares: the consoles and the user-error guard."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import TypeVar

from rich.console import Console

from vigil.errors import VigilError

console = Console()
err_console = Console(stderr=True)

F = TypeVar("F", bound=Callable[..., object])


def user_errors(command: F) -> F:
    """Turn a VigilError into one line on stderr and a non-zero exit: no traceback."""

    @functools.wraps(command)
    def wrapper(*args: object, **kwargs: object) -> object:
        try:
            return command(*args, **kwargs)
        except VigilError as error:
            err_console.print(f"[bold red]error:[/] {error}", highlight=False, soft_wrap=True)
            sys.exit(error.exit_code)

    return wrapper  # type: ignore[return-value]
