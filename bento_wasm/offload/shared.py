"""Large buffers between the executor and a kernel on the same machine, through a shared file.

A 100 MiB argument sent to a kernel as ZMQ frames is copied into the message, through the
kernel's socket and back out of its IOPub thread: about half a second per round trip here.
When the session's kernel runs on the executor's machine, the executor lands the request body
in a file in shared memory (``/dev/shm``, else the temporary directory) and the kernel maps
it: its Arrow buffers are read in place. The kernel writes its answer's Arrow streams straight
into a file of its own (sized first, written once) and the executor maps it and sends it to
the browser from there. The comm message carries only the header and the file's name; a
kernel behind a gateway keeps the ZMQ path (base64 frames).

An answer's Arrow buffers that still lie unchanged in the request's file (an argument
returned as it came, or a slice of its columns) are not written again: the answer names their
place in the request's file (``segments``), and the executor sends them from its own mapping
of it. The kernel maps the request privately (copy on write), so a buffer the call changed in
place is no longer the file's: ``/proc/self/pagemap`` tells which pages were copied, and such
a buffer is written as any other (as everything is where pagemap cannot be read).

Files are named ``bento-<tag>-<random>``; the executor removes a session's leftovers
(:func:`sweep`) when a call ends and when the session closes. Space is reserved up front
(``posix_fallocate``): a full ``/dev/shm`` is an ``OSError`` here, never a ``SIGBUS`` later.
Stdlib only (the executor and the kernel both import it).
"""

from __future__ import annotations

import contextlib
import mmap
import os
import tempfile
import uuid

from ..errors import ExecutorError, TransferError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any

__all__ = [
    "SharedFile",
    "Source",
    "answer_buffers",
    "directory",
    "place",
    "probe",
    "segments",
    "slices",
    "spans",
    "sweep",
    "write_parts",
    "write_segments",
]

PREFIX = "bento-"
#: Smaller requests and answers stay in messages: a file costs more than copying them.
MIN_BYTES = 2**20


def directory() -> str:
    """Where shared files go: ``/dev/shm`` (memory) when it exists, else the temp directory."""
    shm = "/dev/shm"
    return shm if os.path.isdir(shm) and os.access(shm, os.W_OK) else tempfile.gettempdir()


class SharedFile:
    """A file mapped into memory: :meth:`create` one to write, :meth:`open` one to read."""

    def __init__(self, path: str, mapping: mmap.mmap | None, size: int) -> None:
        self.path = path
        self.mapping = mapping
        self.size = size

    @classmethod
    def create(cls, size: int, tag: str, where: str | None = None) -> SharedFile:
        """A new file of ``size`` bytes, its space reserved; raises ``OSError`` if it cannot be."""
        fd, path = reserve(size, tag, where)
        try:
            mapping = mmap.mmap(fd, size) if size else None
        except OSError:
            os.unlink(path)
            raise
        finally:
            os.close(fd)
        return cls(path, mapping, size)

    @classmethod
    def open(cls, path: str, *, private: bool = False) -> SharedFile:
        """Map an existing file: read-only, or ``private`` (copy on write: the reader may
        change its arrays, the file is untouched)."""
        if not os.path.basename(path).startswith(PREFIX):
            raise TransferError(f"{path} is not a bento shared file; are both sides one release?")
        with open(path, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            access = mmap.ACCESS_COPY if private else mmap.ACCESS_READ
            mapping = mmap.mmap(handle.fileno(), size, access=access) if size else None
        return cls(path, mapping, size)

    def view(self) -> memoryview:
        return memoryview(self.mapping if self.mapping is not None else b"")

    def unlink(self) -> None:
        """Remove the name; the mapping stays valid until :meth:`close` (and its views)."""
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)

    def close(self) -> None:
        """Unmap, unless views of it are still alive (then the mapping goes with them)."""
        if self.mapping is not None:
            with contextlib.suppress(BufferError):
                self.mapping.close()


class Source:
    """The request's file as the kernel mapped it (privately): where an answer's buffer that
    still lies unchanged in it can be found."""

    #: Smaller buffers are written: naming them costs more than copying them.
    MIN_BYTES = 2**16

    def __init__(self, path: str, mapped: SharedFile) -> None:
        import ctypes

        self.path, self.size = path, mapped.size
        # kept mapped while the answer is placed: its addresses cannot be reused meanwhile
        # (another file mapped there would look like an unchanged buffer of this one)
        self.mapped = mapped
        self.address = 0
        if mapped.mapping is not None and not mapped.mapping.closed:
            anchor = ctypes.c_char.from_buffer(mapped.mapping)  # an export: dropped at once
            self.address = ctypes.addressof(anchor)
            del anchor

    def offset(self, piece: Any) -> int | None:
        """Where ``piece`` (a pyarrow Buffer) lies in the file, if it lies there unchanged."""
        address, size = getattr(piece, "address", None), getattr(piece, "size", 0)
        if not self.address or not isinstance(address, int) or size < self.MIN_BYTES:
            return None
        if address < self.address or address + size > self.address + self.size:
            return None
        return address - self.address if unchanged(address, size) else None


def unchanged(address: int, size: int) -> bool:
    """True when no page of ``[address, address + size)`` of a private file mapping was
    copied on write (``/proc/self/pagemap``: a page present and not file-backed was); False
    when that cannot be read."""
    import array

    page = mmap.PAGESIZE
    first, last = address // page, (address + size - 1) // page
    try:
        with open("/proc/self/pagemap", "rb", buffering=0) as handle:
            data = os.pread(handle.fileno(), (last - first + 1) * 8, first * 8)
    except OSError:
        return False
    entries = array.array("Q", data)  # native-endian, as pagemap is
    mapped, file_page = 1 << 63 | 1 << 62, 1 << 61  # present or swapped; file-backed
    return len(entries) == last - first + 1 and all(
        not entry & mapped or entry & file_page for entry in entries
    )


def reserve(size: int, tag: str, where: str | None = None) -> tuple[int, str]:
    """A new file's descriptor and path, ``size`` bytes of space reserved (else ``OSError``,
    and no file)."""
    path = os.path.join(where or directory(), f"{PREFIX}{tag}-{uuid.uuid4().hex}")
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        if size:
            os.posix_fallocate(fd, 0, size)
    except OSError:
        os.close(fd)
        os.unlink(path)
        raise
    return fd, path


def spans(sizes: Sequence[int], start: int = 0) -> list[list[int]]:
    """``[offset, length]`` of consecutive buffers of ``sizes`` starting at ``start``."""
    out, at = [], start
    for size in sizes:
        out.append([at, int(size)])
        at += int(size)
    return out


def slices(view: memoryview, ranges: Sequence[Sequence[int]]) -> list[memoryview]:
    """Views of ``view`` at each ``[offset, length]`` (checked: a bad span is a TransferError)."""
    out = []
    for offset, length in ranges:
        if offset < 0 or length < 0 or offset + length > view.nbytes:
            raise TransferError(
                f"span {offset}+{length} is outside a shared file of {view.nbytes} bytes; "
                "are both sides one release?"
            )
        out.append(view[offset : offset + length])
    return out


def nbytes(parts: Sequence[Any]) -> int:
    """The total size of buffers and :class:`~bento_wasm.offload.values.IpcPart` s."""
    from .values import IpcPart

    return sum(p.nbytes if isinstance(p, IpcPart) else memoryview(p).nbytes for p in parts)


def write_parts(parts: Sequence[Any], tag: str, where: str) -> tuple[str, list[int]]:
    """Write buffers / :class:`~bento_wasm.offload.values.IpcPart` s into one new shared file;
    its path and the parts' sizes. Each IpcPart is written straight into the file, by
    ``write()`` calls rather than through a mapping (each first touch of a mapped page of a
    new file is a page fault: about twice the time for 100 MiB here)."""
    from .values import IpcPart

    sizes = [p.nbytes if isinstance(p, IpcPart) else memoryview(p).nbytes for p in parts]

    def write(file: Any) -> None:
        for part in parts:
            if isinstance(part, IpcPart):
                part.write_to(file)
            else:
                file.write(memoryview(part).cast("B"))

    return _filled(sum(sizes), tag, where, write), sizes


def _filled(size: int, tag: str, where: str, write: Any) -> str:
    """A new shared file of ``size`` bytes, written by ``write(file)``; gone if that fails."""
    fd, path = reserve(size, tag, where)
    try:
        with open(fd, "wb", closefd=False) as file:  # large writes go through, completely
            write(file)
        if (written := os.fstat(fd).st_size) != size:
            raise TransferError(f"a shared file got {written} bytes, not {size}; report it")
    except BaseException:
        os.unlink(path)
        raise
    finally:
        os.close(fd)
    return path


def segments(parts: Sequence[Any], source: Source) -> list[list[Any]] | None:
    """The parts as consecutive ``[kind, offset, length, piece]``: kind 1 a range of the
    request's file (a buffer left there unchanged), 0 a range of the answer's file (written);
    None when no buffer was found in the request's file."""
    from .values import IpcPart

    out: list[list[Any]] = []
    written = found = 0
    for part in parts:
        pieces = part.pieces() if isinstance(part, IpcPart) else [memoryview(part).cast("B")]
        for piece in pieces:
            size = memoryview(piece).nbytes
            offset = source.offset(piece)
            if offset is not None:
                out.append([1, offset, size, None])
                found += 1
            elif size:
                if out and out[-1][0] == 0:
                    out[-1][2] += size
                    out[-1][3].append(piece)
                else:
                    out.append([0, written, size, [piece]])
                written += size
    return out if found else None


def write_segments(found: list[list[Any]], tag: str, where: str) -> str:
    """The answer's own file: the segments of kind 0 (:func:`segments`), written in order."""

    def write(file: Any) -> None:
        for segment in found:
            for piece in segment[3] if segment[0] == 0 else ():
                file.write(memoryview(piece).cast("B"))

    return _filled(sum(s[2] for s in found if s[0] == 0), tag, where, write)


def place(
    reply: dict[str, Any], out: Sequence[Any], destination: Any, source: Source | None = None
) -> list[Any]:
    """Put a large answer into a shared file when the executor offers one (``destination``:
    ``{"dir", "tag"}``; ``reply["shared"]`` then names the file, and its ``segments`` what
    was left in ``source``, the request's file) and the buffers left to send with the reply:
    none then, else all of them (small, no offer, or no room in shared memory, where
    :func:`write_parts` leaves no file)."""
    from .values import IpcPart

    if isinstance(destination, dict) and nbytes(out) >= MIN_BYTES:
        tag, where = str(destination["tag"]), str(destination["dir"])
        found = segments(out, source) if source is not None else None
        try:
            if found is None:
                path, sizes = write_parts(out, tag, where)
            else:
                path, sizes = write_segments(found, tag, where), [nbytes([p]) for p in out]
        except OSError:
            pass
        else:
            reply["shared"] = {"path": path, "sizes": sizes}
            if found is not None:
                reply["shared"]["segments"] = [segment[:3] for segment in found]
            return []
    return [b.materialize() if isinstance(b, IpcPart) else b for b in out]


def probe(tag: str, where: str) -> SharedFile:
    """A small file holding ``tag``: a kernel that reads it back shares this machine's files."""
    token = tag.encode()
    created = SharedFile.create(len(token), tag, where)
    created.view()[:] = token
    created.close()
    return created


def answer_buffers(answer: dict[str, Any], request: SharedFile | None = None) -> list[Any]:
    """The buffers a kernel wrote into a shared file (``{"path", "sizes"}``), as views of its
    mapping; its name is removed at once (the mapping lives as long as the views). With
    ``segments``, parts of them are ranges of ``request`` (the request's file, as the executor
    mapped it): a buffer made of several ranges is :class:`Pieces`."""
    try:
        mapped = SharedFile.open(str(answer["path"]))
    except OSError as exc:
        raise ExecutorError(
            f"the remote kernel's answer file is gone ({exc}); something removed it from the "
            "shared directory. Run the call again.",
            status=502,
        ) from exc
    mapped.unlink()
    if "segments" not in answer:
        return slices(mapped.view(), spans(answer["sizes"]))
    if request is None:
        raise TransferError("an answer names the request's file, which this call did not have")
    files = (mapped.view(), request.view())
    ranges = [slices(files[int(k)], [[at, size]])[0] for k, at, size in answer["segments"]]
    return _regroup(ranges, [int(size) for size in answer["sizes"]])


def _regroup(ranges: list[memoryview], sizes: list[int]) -> list[Any]:
    """Consecutive ``ranges`` cut into buffers of ``sizes``: a view where one range holds a
    buffer, else :class:`Pieces`."""
    from ..environment.interface import Pieces

    out: list[Any] = []
    queue = list(reversed(ranges))
    for size in sizes:
        taken: list[memoryview] = []
        while size:
            if not queue:
                raise TransferError("an answer's segments are shorter than its buffers")
            head = queue.pop()
            take = min(size, head.nbytes)
            taken.append(head[:take])
            if take < head.nbytes:
                queue.append(head[take:])
            size -= take
        out.append(taken[0] if len(taken) == 1 else Pieces(taken))
    if any(view.nbytes for view in queue):
        raise TransferError("an answer's segments are longer than its buffers")
    return out


def sweep(tag: str, where: str | None = None) -> int:
    """Remove files left by calls tagged ``tag`` (a call that timed out, a killed kernel)."""
    folder = where or directory()
    removed = 0
    with contextlib.suppress(FileNotFoundError):
        for name in os.listdir(folder):
            if name.startswith(f"{PREFIX}{tag}-"):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(os.path.join(folder, name))
                    removed += 1
    return removed
