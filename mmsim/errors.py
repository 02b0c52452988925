"""The one exception type of the model."""

from __future__ import annotations

import errno as _errno
import os


class MMError(OSError):
    """A system call failed the way the kernel fails it.

    ``.errno`` is the kernel's errno (``errno.ENOMEM`` ...); ``.check`` names the check or
    validation that failed (e.g. ``"split_limit"`` or ``"validate.addr_unaligned"``) and the
    message says it in words.

    >>> import errno, mmsim
    >>> mm = mmsim.AddressSpace("6.18")
    >>> try:
    ...     mm.munmap(0x1001, 4096)          # do_vmi_munmap(): addr not page-aligned
    ... except mmsim.MMError as e:
    ...     e.errno == errno.EINVAL, e.check, isinstance(e, OSError)
    (True, 'validate.range', True)
    """

    def __init__(self, err: int, check: str, detail: str = "") -> None:
        name = _errno.errorcode.get(err, str(err))
        msg = f"{name} from {check}" + (f": {detail}" if detail else "")
        super().__init__(err, msg)
        self.check = check

    def __str__(self) -> str:  # "[Errno 12] ENOMEM from split_limit: ..." reads like the kernel log
        return f"[Errno {self.errno}] {self.strerror} ({os.strerror(self.errno or 0)})"
