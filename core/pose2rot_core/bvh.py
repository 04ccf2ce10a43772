"""BVH motion files: read (any channel layout) and write (standard layout Blender imports).

Conventions (the same as the rest of pose2rot):
- joints are kept in BVH declaration order, which is root first with parents before children;
- ``rest_positions`` are the accumulated OFFSETs (the root row is the root OFFSET), so
  ``skeleton.offsets`` gives back every OFFSET;
- a joint's rotation channels are intrinsic Euler angles read left to right:
  ``CHANNELS 3 Zrotation Xrotation Yrotation`` means ``R = Rz(z) @ Rx(x) @ Ry(y)`` (degrees in
  the file, radians and matrices in memory);
- position channels (on any joint) replace that joint's OFFSET in that frame;
- scale channels (Xscale, Yscale, Zscale, as some exporters write on every joint) are accepted where
  they hold 1 in every frame, and ignored (as Blender's importer does); any other scale is refused.

Reading parses the whole MOTION block in one numpy pass; the header is parsed token by token
so every error names its line. In the hierarchy '{' and '}' are braces wherever they stand, spaced
or not ('ROOT Hips{', 'OFFSET 0 1 0}}'), so a joint name cannot hold one (nor is one written).
"""
from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from itertools import takewhile
from pathlib import Path
from typing import Sequence

import numpy as np

from .errors import UTF16_BOMS, Pose2RotError, read_bytes, write_whole
from .fixed_text import format_rows
from .fk import end_site_positions, forward_kinematics
from .rotations import EULER_ORDERS, euler_angles, unwrap_euler, wrap_angle
from .skeleton import Skeleton, end_site_names

_AXES = "XYZ"
_CHANNEL_KINDS = {f"{a}{kind}": (kind, i) for kind in ("position", "rotation", "scale") for i, a in enumerate(_AXES)}
#: how far a scale channel may be from 1 (written with few decimals) and still read as no scale
_UNIT_SCALE_TOLERANCE = 1e-4
_CHANNEL_KINDS_LOWER = {k.lower(): v for k, v in _CHANNEL_KINDS.items()}
_KEYWORDS = {"hierarchy", "root", "joint", "end", "offset", "channels", "{", "}", "motion"}
_FRAMES_RE = re.compile(r"^\s*frames\s*:\s*(\S*)\s*$", re.IGNORECASE)
_FRAME_TIME_RE = re.compile(r"^\s*frame\s+time\s*:\s*(\S*)\s*$", re.IGNORECASE)
#: how a BVH file's messages show a frame time in seconds
FRAME_TIME_EXAMPLE = "0.0333333 for 30 fps"
#: a word of the hierarchy: a brace, or a run of other characters (a brace stuck to a name or a number,
#: 'Hips{' or '0}}', is a brace of its own, as in files written without spaces around braces)
_HEADER_WORD = re.compile(r"[{}]|[^\s{}]+")
#: a number as the motion rows' one-pass reader (np.fromstring) reads it: Python's float() takes more ('1_0')
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?|[+-]?(inf(inity)?|nan)", re.IGNORECASE)
#: a space other than the line end, in Unicode's sense (U+00A0 no-break space, U+2009 thin space, ...): Python's
#: str.split() and the header's words part at these, as Blender's importer does; numpy's reader of the rows does not
_UNICODE_SPACE = re.compile(r"[^\S\n]")
#: motion rows formatted at a time (bounds the memory of the text being built)
_ROWS_PER_WRITE = 10000


@dataclass
class BvhClip:
    """A parsed BVH file, joints in declaration order.

    skeleton: rest pose from the OFFSETs. rotations: [T,J,3,3] local rotations (identity for
    joints without rotation channels). root_translation: [T,3] root position (its position
    channels, else its OFFSET). local_offsets: [T,J,3] parent-local offsets per frame (position
    channels where a joint has them, else its OFFSET; the root row equals root_translation).
    has_position_channels: [J] bool. orders: per-joint rotation axes as read ("ZXY"; "" when the
    joint has no rotation channel). channels: per-joint channel names as written in the file.
    fps / frame_time: the clip's rate; 0 / 0 where the file says 'Frame Time: 0', which only a rig
    (no frames) or a clip of one frame may (rig files exported without motion write it).
    end_parents [K] / end_offsets [K,3] / end_names: the End Sites.
    """

    skeleton: Skeleton
    rotations: np.ndarray
    root_translation: np.ndarray
    local_offsets: np.ndarray
    has_position_channels: np.ndarray
    orders: list[str]
    channels: list[list[str]]
    fps: float
    frame_time: float
    end_parents: np.ndarray
    end_offsets: np.ndarray
    end_names: list[str]
    name: str = ""

    @property
    def num_frames(self) -> int:
        return int(self.rotations.shape[0])

    def forward(self) -> tuple[np.ndarray, np.ndarray]:
        """(global rotations [T,J,3,3], joint positions [T,J,3])."""
        return forward_kinematics(self.skeleton, self.rotations, self.root_translation, self.local_offsets)

    def fk(self) -> np.ndarray:
        """Joint positions [T,J,3] in file units and axes."""
        return self.forward()[1]

    def end_site_positions(self, forward: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
        """End Site positions [T,K,3] (``forward``: the clip's :meth:`forward`, when already known)."""
        G, P = self.forward() if forward is None else forward
        return end_site_positions(G, P, self.end_parents, self.end_offsets)


    def check_rest_pose(self) -> None:
        """Refuse a rig whose OFFSETs put every joint at one point (some converters write zero OFFSETs
        and place each joint by position channels): it has no bones to give lengths, roll or a height."""
        rest = self.skeleton.rest_positions
        if len(rest) > 1 and not np.ptp(rest, axis=0).any():
            raise Pose2RotError(f"{self.name}: the OFFSETs put all {len(rest)} joints at one point: the rest pose "
                                "gives the rig its bone lengths, the roll of its bones and the height that every % "
                                "is of; export the clip with its rig's rest offsets (position channels on every "
                                "joint do not replace them)")


# =============================================================================== reading
def read_bvh(path: str | Path) -> BvhClip:
    """Read a BVH file (any channel orders, position channels on any joint, CRLF or LF, UTF-8 with or
    without BOM, UTF-16 with BOM, Latin-1; a no-break space or another Unicode space reads as a space, as
    in Blender's importer). Every motion value must be a finite number."""
    return parse_bvh(bvh_text(path), name=str(path))


def bvh_text(path: str | Path) -> str:
    """The text of the BVH file ``path``, decoded as :func:`read_bvh` reads it."""
    path = Path(path)
    if path.is_dir():
        raise Pose2RotError(f"'{path}' is a directory, not a BVH file; give the path of a .bvh file")
    return _decode(read_bytes(path, "BVH"), path)


def _decode(raw: bytes, path: Path) -> str:
    """BVH bytes -> text: UTF-8 (with or without BOM), UTF-16 with BOM, else Latin-1."""
    if raw.startswith(UTF16_BOMS):
        try:
            return raw.decode("utf-16")
        except UnicodeDecodeError:
            pass
    elif raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    if b"\0" in raw[:4096] or raw.startswith(b"PK\x03\x04"):
        kind = "a zip archive (an .npz file?)" if raw.startswith(b"PK") else "binary data"
        raise Pose2RotError(f"{path}: not a BVH file: it holds {kind}, not BVH text (HIERARCHY ... MOTION)")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def parse_bvh(text: str, name: str = "<string>") -> BvhClip:
    """Parse BVH text. ``name`` prefixes error messages (usually the file path)."""
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    header = _Header(text, name)
    hier = header.parse_hierarchy()
    frames, frame_time, motion_start, motion_line = header.parse_motion_header()
    data = _parse_motion(text[motion_start:], motion_line, frames, len(hier.column_joint), name,
                         header.frames_line)
    return _build_clip(hier, data, frame_time, name)


@dataclass
class _Hierarchy:
    names: list[str]
    parents: list[int]
    offsets: list[list[float]]
    channels: list[list[str]]
    end_parents: list[int]
    end_offsets: list[list[float]]
    column_joint: list[int]  # per motion column: joint index
    column_kind: list[tuple[str, int]]  # per motion column: ("position"|"rotation"|"scale", axis)


class _Header:
    """Token reader over the header lines (HIERARCHY ... Frame Time), with line numbers."""

    def __init__(self, text: str, name: str) -> None:
        self.text, self.name = text, name
        self.pos = 0  # character offset of the next unread line
        self.line_no = 0  # number of the current line (1-based)
        self.tokens: list[str] = []
        self.tok_i = 0
        self.line_text = ""  # the current line as written
        self.frames_line = 0

    # --------------------------------------------------------------- low level
    def _next_line(self) -> str | None:
        if self.pos >= len(self.text):
            return None
        end = self.text.find("\n", self.pos)
        end = len(self.text) if end < 0 else end
        line = self.text[self.pos:end]
        self.pos = end + 1
        self.line_no += 1
        return line

    def _peek(self) -> str | None:
        while self.tok_i >= len(self.tokens):
            line = self._next_line()
            if line is None:
                return None
            self.tokens, self.tok_i, self.line_text = _HEADER_WORD.findall(line), 0, line
        return self.tokens[self.tok_i]

    def _take(self) -> str | None:
        tok = self._peek()
        if tok is not None:
            self.tok_i += 1
        return tok

    def _rest_of_line(self) -> list[str]:
        rest = self.tokens[self.tok_i:]
        self.tok_i = len(self.tokens)
        return rest

    def _words_before_brace(self) -> list[str]:
        """Take the words up to a '{' on the current line (the '{' itself stays unread)."""
        rest = self.tokens[self.tok_i:]
        k = rest.index("{") if "{" in rest else len(rest)
        self.tok_i += k
        return rest[:k]

    def error(self, message: str, line: int | None = None) -> Pose2RotError:
        """A parse error at ``line`` (default: the current one); on the file's last line, it says the
        file may be cut short (a word cut in half reads as an unknown one)."""
        at = self.line_no if line is None else line
        last = at == self.line_no and not self.text[self.pos:].strip()
        return Pose2RotError(f"{self.name}: line {at}: {message}" + (" (the file ends on this line: is it cut "
                                                                     "short?)" if last else ""))

    def _expect_open(self, what: str) -> None:
        tok = self._take()
        if tok != "{":
            found = "the end of the file" if tok is None else f"'{tok}'"
            raise self.error(f"expected '{{' after {what}, found {found}")

    def _floats(self, count: int, what: str) -> list[float]:
        line = self.line_no
        vals = []
        for _ in range(count):
            tok = self._peek()
            if tok is None or self.line_no != line or tok.lower() in _KEYWORDS:
                raise self.error(f"{what} needs {count} numbers, found {len(vals)}", line)
            try:
                vals.append(float(tok))
            except ValueError:
                raise self.error(f"{what} value '{tok}' is not a number{decimal_comma_hint(tok)}") from None
            if not np.isfinite(vals[-1]):
                raise self.error(f"{what} value '{tok[:40]}' is not a finite number: give the offset from the "
                                 "parent in file units")
            self.tok_i += 1
        return vals

    # --------------------------------------------------------------- grammar
    def parse_hierarchy(self) -> _Hierarchy:
        """The HIERARCHY section up to MOTION; each statement is read by its handler in
        :attr:`_STATEMENTS`, with the open blocks on ``self.stack``."""
        first = self._take()
        if first is None:
            raise Pose2RotError(f"{self.name}: empty file, not a BVH file")
        if first.lower() != "hierarchy":
            raise self.error(f"not a BVH file: expected 'HIERARCHY', found '{first[:40]}'")
        self.hierarchy_line = self.line_no
        self.h = _Hierarchy([], [], [], [], [], [], [], [])
        self.seen: dict[str, int] = {}                      # joint name -> line declared
        self.stack: list[tuple[str, int, int]] = []          # open blocks: ("joint"|"end", index, line opened)
        self.offset_seen: set[tuple[str, int]] = set()
        while True:
            tok = self._take()
            if tok is None:
                if self.stack:
                    raise self.error(f"unbalanced braces: {self._open_block()} is never closed with '}}' "
                                     "(the file ends without a MOTION section)")
                raise self.error("no MOTION section: the file ends after the hierarchy")
            handler = self._STATEMENTS.get("}" if tok == "}" else tok.lower())
            if handler is None:
                where = f" in {self._describe(self.h, *self.stack[-1][:2])}" if self.stack else ""
                raise self.error(f"unexpected '{tok[:40]}'{where}")
            if handler(self, tok):
                return self.h

    def _open_block(self) -> str:
        kind, idx, opened = self.stack[-1]
        return f"{self._describe(self.h, kind, idx)} opened at line {opened}"

    def _joint(self, tok: str) -> bool:
        low, h, stack = tok.lower(), self.h, self.stack
        if low == "root" and (stack or h.names):
            raise self.error("a second ROOT: only one skeleton per BVH file is supported"
                             if not stack else "ROOT inside another joint; use JOINT for children")
        if low == "joint" and (not stack or stack[-1][0] != "joint"):
            raise self.error("JOINT outside a ROOT block" if not stack else "JOINT inside an End Site")
        if low == "joint" and not h.names:
            raise self.error("the hierarchy must start with ROOT, found JOINT")
        line = self.line_no
        parts = self._words_before_brace()
        if not parts:
            raise self.error(f"{tok} without a joint name")
        if "}" in parts:
            raise self._brace_in_name()
        jname = "_".join(parts)
        if jname in self.seen:
            raise self.error(f"duplicate joint name '{jname}' (first declared at line {self.seen[jname]}); "
                             "joint names must be unique")
        self.seen[jname] = line
        h.parents.append(stack[-1][1] if stack else -1)
        h.names.append(jname)
        h.offsets.append([0.0, 0.0, 0.0])
        h.channels.append([])
        self._expect_open(f"{tok} {jname}")
        rest = self.tokens[self.tok_i:] if self.line_no == line else []
        if rest and rest[0].lower() not in self._STATEMENTS:
            raise self._brace_in_name()  # 'ROOT Bone{1}' reads as 'Bone', '{', '1', '}'
        stack.append(("joint", len(h.names) - 1, line))
        return False

    def _brace_in_name(self) -> Pose2RotError:
        """The error for a joint line whose name holds a brace ('ROOT Bone{1}': a '}' among its words,
        or a word after its '{' that starts no statement), quoting the name as written."""
        written = self.line_text.split(None, 1)[1].strip().rstrip(" \t{")
        return self.error(f"joint name '{written[:40]}' holds a brace, and BVH reads '{{' and '}}' as the braces of "
                          "its blocks: rename the joint without them")

    def _end_site(self, _tok: str) -> bool:
        line = self.line_no
        words = self._words_before_brace()
        if not words or words[0].lower() != "site":
            raise self.error("expected 'End Site'")
        if not self.stack or self.stack[-1][0] != "joint":
            raise self.error("End Site outside a joint")
        self.h.end_parents.append(self.stack[-1][1])
        self.h.end_offsets.append([0.0, 0.0, 0.0])
        self._expect_open("End Site")
        self.stack.append(("end", len(self.h.end_parents) - 1, line))
        return False

    def _offset(self, _tok: str) -> bool:
        if not self.stack:
            raise self.error("OFFSET outside a joint")
        kind, idx, _ = self.stack[-1]
        if (kind, idx) in self.offset_seen:
            raise self.error(f"second OFFSET in {self._describe(self.h, kind, idx)}")
        (self.h.offsets if kind == "joint" else self.h.end_offsets)[idx] = self._floats(3, "OFFSET")
        extra = len(list(takewhile(_NUMBER.fullmatch, self.tokens[self.tok_i:])))
        if extra:  # some exporters add a rest rotation after the offset: not BVH, and not to be guessed at
            raise self.error(f"OFFSET of {self._describe(self.h, kind, idx)} has {3 + extra} numbers; a BVH "
                             "OFFSET has 3 (x y z from the parent): export the file as plain BVH")
        self.offset_seen.add((kind, idx))
        return False

    def _channels(self, _tok: str) -> bool:
        if not self.stack or self.stack[-1][0] != "joint":
            raise self.error("CHANNELS outside a joint" if not self.stack else "CHANNELS inside an End Site")
        self._parse_channels(self.h, self.stack[-1][1])
        return False

    def _close(self, _tok: str) -> bool:
        if not self.stack:
            raise self.error("unbalanced braces: '}' without a matching '{'")
        kind, idx, opened = self.stack.pop()
        if (kind, idx) not in self.offset_seen:
            raise self.error(f"missing OFFSET: {self._describe(self.h, kind, idx)} has no OFFSET line", opened)
        return False

    def _second_hierarchy(self, _tok: str) -> bool:
        raise self.error(f"a second HIERARCHY before any MOTION (the first is at line {self.hierarchy_line}): a BVH "
                         "file holds one hierarchy, then its MOTION section; keep one hierarchy and its motion")

    def _motion(self, _tok: str) -> bool:
        if self.stack:
            raise self.error(f"unbalanced braces: {self._open_block()} is not closed with '}}' before MOTION")
        if not self.h.names:
            raise self.error("MOTION before any ROOT joint")
        if self._rest_of_line():
            raise self.error("unexpected text after MOTION")
        return True

    #: statement keyword (lower case) -> handler(self, token) -> whether the hierarchy ended
    _STATEMENTS = {"root": _joint, "joint": _joint, "end": _end_site, "offset": _offset, "channels": _channels,
                   "}": _close, "motion": _motion, "hierarchy": _second_hierarchy}

    @staticmethod
    def _describe(h: _Hierarchy, kind: str, idx: int) -> str:
        if kind == "joint":
            return f"joint '{h.names[idx]}'"
        return f"End Site of '{h.names[h.end_parents[idx]]}'"

    def _parse_channels(self, h: _Hierarchy, j: int) -> None:
        if h.channels[j]:
            raise self.error(f"second CHANNELS line in joint '{h.names[j]}'")
        line = self.line_no
        count_tok = self._take()
        try:
            count = int(count_tok) if count_tok is not None and self.line_no == line else -1
        except ValueError:
            count = -1
        if count < 0:
            raise self.error(f"CHANNELS needs a channel count, found '{count_tok}'", line)
        names: list[str] = []
        kinds: list[tuple[str, int]] = []
        for _ in range(count):
            tok = self._peek()
            if tok is None or tok.lower() in _KEYWORDS or self.line_no != line:
                raise self.error(f"CHANNELS says {count} but lists {len(names)} channel names", line)
            kind = _CHANNEL_KINDS_LOWER.get(tok.lower())
            if kind is None:
                raise self.error(f"unknown channel name '{tok}' in joint '{h.names[j]}' "
                                 f"(expected one of {', '.join(_CHANNEL_KINDS)})")
            if kind in kinds:
                raise self.error(f"channel '{tok}' appears twice in joint '{h.names[j]}'")
            self.tok_i += 1
            names.append(tok)
            kinds.append(kind)
        extra = self.tokens[self.tok_i:] if self.line_no == line else []
        if extra and extra[0].lower() not in _KEYWORDS:
            raise self.error(f"CHANNELS says {count} but lists {count + len(extra)} channel names", line)
        h.channels[j] = names
        h.column_joint.extend([j] * count)
        h.column_kind.extend(kinds)

    def parse_motion_header(self) -> tuple[int, float, int, int]:
        """After MOTION: (frames, frame_time, char offset of the motion rows, their first line number)."""
        frames = self._header_value(_FRAMES_RE, "'Frames: <count>' line after MOTION", int, lambda n: n >= 0,
                                    "Frames: needs a whole number of frames")
        self.frames_line = self.line_no
        frame_time = self._header_value(_FRAME_TIME_RE, "'Frame Time: <seconds>' line after 'Frames:'", float,
                                        lambda x: np.isfinite(x) and x >= 0,
                                        f"Frame Time: must be a positive number of seconds ({FRAME_TIME_EXAMPLE})")
        if frame_time == 0 and frames > 1:  # a rig, or one frame, has no use for a rate
            raise self.error(f"'Frame Time: 0' in a clip of {frames} frames: the time between frames must be a "
                             f"positive number of seconds; write the clip's ({FRAME_TIME_EXAMPLE})")
        if frame_time > 0 and not np.isfinite(1.0 / frame_time):  # a subnormal: no rate a number can hold
            raise self.error(f"'Frame Time: {frame_time:.3g}' gives no usable frame rate (its frames per second "
                             "are past the largest number); write the clip's frame time in seconds "
                             f"({FRAME_TIME_EXAMPLE})")
        return frames, abs(frame_time), self.pos, self.line_no + 1

    def _header_value(self, pattern, line_name: str, convert, valid, requirement: str):
        """The value on the next non-blank line, which must match ``pattern`` and be ``valid``."""
        line = self._next_nonblank()
        m = pattern.match(line or "")
        if m is None:
            raise self.error(f"missing {line_name}" + (f" (found '{line.strip()[:40]}')" if line else ""))
        try:
            value = convert(m.group(1))
        except ValueError:
            value = None
        if value is None or not valid(value):
            raise self.error(f"{requirement}, found '{m.group(1)}'{decimal_comma_hint(m.group(1))}")
        return value

    def _next_nonblank(self) -> str | None:
        while True:
            line = self._next_line()
            if line is None or line.strip():
                return line


def _parse_motion(motion: str, first_line: int, frames: int, num_channels: int, name: str,
                  frames_line: int) -> np.ndarray:
    """Motion rows -> [frames, num_channels] float64, one vectorised pass; errors name the line.
    A frame is a line; lines that each hold whole frames, ``frames`` of them in all, are read in order
    too (some writers put a clip's whole motion on one line)."""
    if num_channels == 0:  # no channel anywhere: the rows are empty, nothing to count
        return np.zeros((frames, 0))
    if not motion.isascii():  # a no-break space (U+00A0) and other Unicode spaces part values, as in the header
        motion = _UNICODE_SPACE.sub(" ", motion)
    b = np.frombuffer(("\n" + motion).encode("utf-8"), np.uint8)
    ws = b <= 32
    starts = (ws[:-1] & ~ws[1:]).view(np.uint8)  # starts[k]: a value begins at byte k+1
    line_starts = np.flatnonzero(b[:-1] == 10)
    counts = np.add.reduceat(starts, line_starts, dtype=np.int64) if starts.size else np.zeros(0, np.int64)
    rows = np.flatnonzero(counts)  # motion rows = non-blank lines (line index within the block)
    row_lines = first_line + rows
    per_row = counts[rows]
    if not _whole_frames(per_row, frames, num_channels):
        _check_rows(motion, rows, per_row, first_line, frames, num_channels, frames_line, name)
    if frames == 0:
        return np.zeros((frames, num_channels))
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)  # numpy < 2 warns on unparsable text
        try:
            values = np.fromstring(motion, sep=" ")
        except (ValueError, DeprecationWarning):
            values = None
    if values is None or values.size != frames * num_channels:
        _raise_bad_number(motion, first_line, name)
    values = values.reshape(frames, num_channels)
    if not np.isfinite(values).all():
        r, c = np.argwhere(~np.isfinite(values))[0]
        at = int(r) * num_channels + int(c)  # the value's place among all of them, row by row
        row = int(np.searchsorted(np.cumsum(per_row), at, side="right"))
        k = at - int(per_row[:row].sum())
        tok = motion.split("\n")[rows[row]].split()[k]
        raise Pose2RotError(f"{name}: line {row_lines[row]}: value {k + 1} '{tok[:40]}' on a motion row is not a "
                            "finite number (BVH channels cannot be missing; give every channel a value)")
    return values


def _whole_frames(per_row: np.ndarray, frames: int, num_channels: int) -> bool:
    """True where every non-blank motion line holds whole frames (``per_row``: the values on each),
    ``frames`` frames of ``num_channels`` values in all: one a line, or several."""
    return bool(per_row.size) and not (per_row % num_channels).any() and int(per_row.sum()) == frames * num_channels


def _check_rows(motion: str, rows: np.ndarray, per_row: np.ndarray, first_line: int, frames: int,
                num_channels: int, frames_line: int, name: str) -> None:
    """Raise the error for motion rows that are not ``frames`` rows of ``num_channels`` values each
    (``rows``: the non-blank lines' indices in ``motion``, which starts at line ``first_line``;
    ``per_row``: the values on each)."""
    row_lines = first_line + rows
    bad = np.flatnonzero(per_row != num_channels)
    if bad.size and bad[0] < frames:
        i = int(bad[0])
        got = int(per_row[i])
        if i == len(rows) - 1 and got < num_channels:
            raise Pose2RotError(f"{name}: line {row_lines[i]}: the file is truncated: the last motion row has "
                                f"{got} values, expected {num_channels}")
        raise Pose2RotError(f"{name}: line {row_lines[i]}: motion row {i + 1} has {got} values, expected "
                            f"{num_channels} (the number of channels declared in the hierarchy)")
    if len(rows) < frames:
        last = f"the last one is line {row_lines[-1]}" if len(rows) else f"the file ends at line {first_line}"
        raise Pose2RotError(f"{name}: line {frames_line}: the file is truncated: 'Frames: {frames}' but only "
                            f"{len(rows)} motion rows follow ({last})")
    if len(rows) > frames:
        raise _past_the_rows(motion.split("\n")[rows[frames]].split()[0], int(row_lines[frames]), len(rows), frames,
                             frames_line, name)


def _past_the_rows(word: str, line: int, rows: int, frames: int, frames_line: int, name: str) -> Pose2RotError:
    """The error for ``rows`` motion rows where line ``frames_line`` says ``frames``, ``word`` the first
    one past them, at ``line``: text there is no row (a second clip's HIERARCHY, in files joined
    into one), numbers mean the count is off."""
    try:
        float(word)
    except ValueError:
        what = ("a second HIERARCHY: two BVH files joined into one? Keep one hierarchy and its motion per file"
                if word.lower() == "hierarchy" else "it is not a motion row; remove it")
        return Pose2RotError(f"{name}: line {line}: '{word[:40]}' follows the {frames} motion rows that line "
                             f"{frames_line} announces: {what}")
    return Pose2RotError(f"{name}: line {line}: {rows} motion rows but line {frames_line} says 'Frames: {frames}'; "
                         "fix the Frames: count")


def _raise_bad_number(motion: str, first_line: int, name: str) -> None:
    """Slow path, only on error: find the first value that is not a number."""
    for i, line in enumerate(motion.split("\n")):
        for k, tok in enumerate(line.split()):
            if not _NUMBER.fullmatch(tok):
                raise Pose2RotError(f"{name}: line {first_line + i}: value {k + 1} '{tok[:40]}' on a motion row "
                                    f"is not a number{decimal_comma_hint(tok)}")
    raise Pose2RotError(f"{name}: line {first_line}: the motion values could not be read as numbers")


def decimal_comma_hint(word: str) -> str:
    """' (BVH numbers take a decimal point: 0.5)' where ``word`` is a number written with a decimal
    comma ('0,5', as spreadsheets and some exporters in European locales write them), else ''."""
    if word.count(",") != 1:
        return ""
    dotted = word.replace(",", ".")
    try:
        float(dotted)
    except ValueError:
        return ""
    return f" (BVH numbers take a decimal point: {dotted})"


def channel_rotations(angles: np.ndarray, axes: str) -> np.ndarray:
    """Rotation channels [..., k] (radians) about ``axes`` (k letters, e.g. "ZXY", "Z", "") ->
    [...,3,3] = R_axes[0](a0) @ R_axes[1](a1) @ ... (intrinsic, as BVH channels read).

    Each factor is applied as a column update (right-multiplying by a rotation about axis i
    mixes columns i+1 and i+2), which is several times faster than batched 3x3 products.
    """
    R = np.zeros(angles.shape[:-1] + (3, 3))
    R[..., [0, 1, 2], [0, 1, 2]] = 1.0
    for k, axis in enumerate(axes):
        i = _AXES.index(axis)
        j, l = (i + 1) % 3, (i + 2) % 3
        c, s = np.cos(angles[..., k, None]), np.sin(angles[..., k, None])
        Rj, Rl = R[..., :, j].copy(), R[..., :, l]
        R[..., :, j] = Rj * c + Rl * s
        R[..., :, l] = Rl * c - Rj * s
    return R


def _build_clip(h: _Hierarchy, data: np.ndarray, frame_time: float, name: str) -> BvhClip:
    J, T = len(h.names), data.shape[0]
    offsets = np.asarray(h.offsets, np.float64)
    parents = np.asarray(h.parents, np.int64)
    rest = offsets.copy()
    for j in range(1, J):
        rest[j] += rest[parents[j]]
    skeleton = Skeleton(h.names, parents, rest)

    col_joint = np.asarray(h.column_joint, np.int64)
    _check_unit_scale(h, data, name)
    col_kind = np.asarray([k == "position" for k, _ in h.column_kind], bool)
    col_rot = np.asarray([k == "rotation" for k, _ in h.column_kind], bool)
    col_axis = np.asarray([a for _, a in h.column_kind], np.int64)

    local_offsets = np.broadcast_to(offsets, (T, J, 3)).copy()
    pos_cols = np.flatnonzero(col_kind)
    local_offsets[:, col_joint[pos_cols], col_axis[pos_cols]] = data[:, pos_cols]
    has_pos = np.zeros(J, bool)
    has_pos[col_joint[pos_cols]] = True

    rot_cols: list[list[int]] = [[] for _ in range(J)]
    for c in np.flatnonzero(col_rot):
        rot_cols[col_joint[c]].append(int(c))
    orders = ["".join(_AXES[col_axis[c]] for c in cols) for cols in rot_cols]
    groups: dict[str, list[int]] = {}
    for j, order in enumerate(orders):
        groups.setdefault(order, []).append(j)
    rotations = np.empty((T, J, 3, 3))
    for order, joints in groups.items():
        cols = np.asarray([rot_cols[j] for j in joints], np.int64).reshape(len(joints), len(order))
        rotations[:, joints] = channel_rotations(np.radians(data[:, cols]), order)

    root_translation = local_offsets[:, 0].copy()
    end_parents = np.asarray(h.end_parents, np.int64).reshape(-1)
    return BvhClip(
        skeleton=skeleton, rotations=rotations, root_translation=root_translation, local_offsets=local_offsets,
        has_position_channels=has_pos, orders=orders, channels=h.channels,
        fps=1.0 / frame_time if frame_time else 0.0,
        frame_time=frame_time, end_parents=end_parents,
        end_offsets=np.asarray(h.end_offsets, np.float64).reshape(-1, 3),
        end_names=end_site_names(h.names, end_parents), name=name)


def _check_unit_scale(h: _Hierarchy, data: np.ndarray, name: str) -> None:
    """Refuse scale channels (``data`` [T,C] motion values, columns as ``h`` says) that are not 1 in
    every frame: pose2rot's rigs have no scale, and ignoring one would move every joint below it."""
    cols = np.asarray([c for c, (kind, _) in enumerate(h.column_kind) if kind == "scale"], np.int64)
    if not cols.size or data.shape[0] == 0:
        return
    off = np.abs(data[:, cols] - 1.0) > _UNIT_SCALE_TOLERANCE
    if not off.any():
        return
    t, k = np.argwhere(off)[0]
    c = int(cols[k])
    j = h.column_joint[c]
    channel = h.channels[j][c - h.column_joint.index(j)]
    raise Pose2RotError(f"{name}: joint '{h.names[j]}' is scaled ({channel} {data[t, c]:g} in frame {t}): pose2rot "
                        "reads scale channels only where they hold 1; apply the scale to the rig (its OFFSETs) "
                        "and export the clip with scale 1, or without scale channels")


# =============================================================================== writing
def write_bvh(path: str | Path, skeleton: Skeleton, rotations: np.ndarray, root_translation: np.ndarray,
              local_offsets: np.ndarray | None = None, translating: np.ndarray | None = None, fps: float = 30.0,
              order: str | Sequence[str] = "ZXY", end_parents: np.ndarray | None = None,
              end_offsets: np.ndarray | None = None, end_names: Sequence[str] | None = None,
              precision: int = 6) -> None:
    """Write a standard BVH file (one statement per line, the layout Blender's importer reads).

    skeleton: the rig; its OFFSETs are ``skeleton.offsets`` (root OFFSET = rest root position).
    rotations: [T,J,3,3] local rotations and root_translation [T,3], in the skeleton's order.
    local_offsets: [T,J,3] per-frame parent-local offsets, written as position channels of the
      joints marked ``translating`` [J] bool (default: none; the root always has 6 channels).
    order: one rotation order for every joint ("ZXY") or one per joint.
    end_parents [K] (joint indices) / end_offsets [K,3]: End Sites to write. BVH End Sites carry no
      names, so ``end_names`` is only checked for length (it mirrors ``BvhClip.end_names``).
    Joints are written in a depth-first order of the tree (BVH nesting needs one); when the
    skeleton's own order is not depth-first the columns are reordered to match.
    Angles are kept continuous over time (see :func:`continuous_euler`) and written in degrees
    with ``precision`` decimals, position channels too (more for a rig so small that they would not
    keep a millionth of its height); OFFSETs keep at least 10 decimals.
    """
    J = skeleton.num_joints
    rotations, root_translation, local_offsets, translating = _checked_motion(
        skeleton, rotations, root_translation, local_offsets, translating)
    orders = [order] * J if isinstance(order, str) else list(order)
    if len(orders) != J:
        raise Pose2RotError(f"write_bvh: {len(orders)} rotation orders for {J} joints")
    orders = [str(o).upper() for o in orders]
    for o in set(orders):
        if o not in EULER_ORDERS:
            raise Pose2RotError(f"write_bvh: unknown rotation order '{o}' (use one of {', '.join(EULER_ORDERS)})")
    if not (np.isfinite(fps) and fps > 0):
        raise Pose2RotError(f"write_bvh: fps must be a positive number, got {fps}")
    end_parents, end_offsets = _checked_end_sites(end_parents, end_offsets, end_names, J)
    precision = max(precision, _position_decimals(skeleton.height))
    names = _bvh_names(skeleton.names)
    dfs = skeleton.depth_first_order()
    has_pos = translating.copy()
    has_pos[0] = True
    positions = local_offsets.copy()
    positions[:, 0] = root_translation
    data = _motion_columns(rotations, positions, has_pos, orders, dfs)
    header = _hierarchy_text(skeleton, names, dfs, orders, has_pos, end_parents, end_offsets, precision)

    def write(f) -> None:
        f.write(header)
        f.write(f"MOTION\nFrames: {data.shape[0]}\nFrame Time: {1.0 / fps:.10g}\n")
        for start in range(0, data.shape[0], _ROWS_PER_WRITE):
            f.write(format_rows(data[start:start + _ROWS_PER_WRITE], precision))

    write_whole(path, "BVH", write)


def _position_decimals(height: float) -> int:
    """Decimals that keep positions of a rig ``height`` tall to a millionth of it (a rig of a few
    millimetres in metres needs more than six)."""
    return int(np.ceil(-np.log10(height))) + 6 if np.isfinite(height) and height > 0 else 0


def _checked_motion(skeleton: Skeleton, rotations, root_translation, local_offsets, translating
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """write_bvh's motion arrays checked and filled in: rotations [T,J,3,3], root [T,3], local
    offsets [T,J,3] (default: the rest offsets), translating [J] bool (default: none)."""
    J = skeleton.num_joints
    rotations = np.asarray(rotations, np.float64)
    if rotations.ndim != 4 or rotations.shape[1:] != (J, 3, 3):
        raise Pose2RotError(f"write_bvh: rotations must be [T,{J},3,3], got {list(rotations.shape)}")
    T = rotations.shape[0]
    root_translation = _checked(root_translation, (T, 3), "root_translation")
    local_offsets = (np.broadcast_to(skeleton.offsets, (T, J, 3)) if local_offsets is None
                     else _checked(local_offsets, (T, J, 3), "local_offsets"))
    translating = np.zeros(J, bool) if translating is None else np.asarray(translating, bool).reshape(-1)
    if translating.shape != (J,):
        raise Pose2RotError(f"write_bvh: translating must have {J} entries, got {translating.shape[0]}")
    if not np.isfinite(rotations).all():
        t, j = np.argwhere(~np.isfinite(rotations).all(axis=(2, 3)))[0]
        raise Pose2RotError(f"write_bvh: rotation of joint '{skeleton.names[j]}' at frame {t} is not finite")
    return rotations, root_translation, local_offsets, translating


def _checked_end_sites(end_parents, end_offsets, end_names, J: int) -> tuple[np.ndarray, np.ndarray]:
    """(end_parents [K], end_offsets [K,3]) checked for write_bvh (none: K = 0)."""
    end_parents = np.zeros(0, np.int64) if end_parents is None else np.asarray(end_parents, np.int64).reshape(-1)
    K = end_parents.shape[0]
    if K and end_offsets is None:
        raise Pose2RotError("write_bvh: end_parents given without end_offsets")
    end_offsets = np.zeros((0, 3)) if end_offsets is None else _checked(end_offsets, (K, 3), "end_offsets")
    if end_names is not None and len(end_names) != K:
        raise Pose2RotError(f"write_bvh: {len(end_names)} end names for {K} End Sites")
    if K and (end_parents.min() < 0 or end_parents.max() >= J):
        raise Pose2RotError(f"write_bvh: end_parents must be joint indices in 0..{J - 1}")
    return end_parents, end_offsets


def _motion_columns(rotations: np.ndarray, positions: np.ndarray, has_pos: np.ndarray, orders: list[str],
                    dfs: list[int]) -> np.ndarray:
    """[T,C] motion rows: per joint in ``dfs`` order its position (where ``has_pos``) and its
    continuous Euler angles in degrees, in its rotation order."""
    T, J = rotations.shape[:2]
    if len(set(orders)) == 1:
        angles = continuous_euler(rotations, orders[0])
    else:
        angles = np.empty((T, J, 3))
        for o in set(orders):
            js = [j for j in range(J) if orders[j] == o]
            angles[:, js] = continuous_euler(rotations[:, js], o)
    channels = np.concatenate([positions, np.degrees(angles, out=angles)], axis=2)  # [T,J,6]: position, angles
    picks = [6 * j + c for j in dfs for c in ((0, 1, 2, 3, 4, 5) if has_pos[j] else (3, 4, 5))]
    return np.take(channels.reshape(T, 6 * J), picks, axis=1)


def continuous_euler(R: np.ndarray, order: str) -> np.ndarray:
    """Rotations [T,...,3,3] -> intrinsic Euler angles [T,...,3] (radians), continuous over time.

    Every rotation has two Euler triples, (a, b, c) and (a + pi, pi - b, c + pi). Whether frame t
    should switch triple relative to frame t-1 does not depend on which one t-1 used (the map is
    an involution that keeps angle distances), so the choice is a cumulative parity of local
    decisions; 2*pi jumps are then removed.
    """
    a, b, c = euler_angles(R, order)
    if a.shape[0] > 1:
        def dist(da: np.ndarray, db: np.ndarray, dc: np.ndarray) -> np.ndarray:
            return wrap_angle(da) ** 2 + wrap_angle(db) ** 2 + wrap_angle(dc) ** 2

        switch = (dist(a[1:] + np.pi - a[:-1], np.pi - b[1:] - b[:-1], c[1:] + np.pi - c[:-1])
                  < dist(a[1:] - a[:-1], b[1:] - b[:-1], c[1:] - c[:-1]))
        use_alt = np.zeros(a.shape, bool)
        np.logical_xor.accumulate(switch, axis=0, out=use_alt[1:])
        a, b, c = np.where(use_alt, a + np.pi, a), np.where(use_alt, np.pi - b, b), np.where(use_alt, c + np.pi, c)
    return np.stack([unwrap_euler(a), unwrap_euler(b), unwrap_euler(c)], -1)


def _checked(x: np.ndarray, shape: tuple[int, ...], what: str) -> np.ndarray:
    x = np.asarray(x, np.float64)
    if x.shape != shape:
        raise Pose2RotError(f"write_bvh: {what} must be {list(shape)}, got {list(x.shape)}")
    if not np.isfinite(x).all():
        raise Pose2RotError(f"write_bvh: {what} contains NaN or infinite values")
    return x


def _bvh_names(names: Sequence[str]) -> list[str]:
    """Joint names as BVH words: whitespace becomes '_' (as Blender's importer reads such names)."""
    problem = unwritable_names(names)
    if problem:
        raise Pose2RotError(f"write_bvh: {problem}")
    return ["_".join(n.split()) for n in names]


def unwritable_names(names: Sequence[str]) -> str:
    """Why joint ``names`` cannot be written to a BVH file, and what to rename ("" when they can): a
    name that is blank or holds a brace (the reader takes any '{' or '}' for a block's), or two names
    that become one word (whitespace turns into '_')."""
    seen: dict[str, str] = {}
    for orig in names:
        n = "_".join(orig.split())
        if not n:
            return f"joint name '{orig}' cannot be written to BVH; rename the joint"
        if "{" in n or "}" in n:
            return (f"joint name '{orig}' cannot be written to BVH, which reads '{{' and '}}' as the braces of its "
                    "blocks; rename the joint")
        if n in seen:
            return (f"joints '{seen[n]}' and '{orig}' both become '{n}' in BVH (spaces turn into '_'); "
                    "rename one of them")
        seen[n] = orig
    return ""


def _hierarchy_text(skeleton: Skeleton, names: list[str], dfs: list[int], orders: list[str],
                    has_pos: np.ndarray, end_parents: np.ndarray, end_offsets: np.ndarray, precision: int) -> str:
    offsets = skeleton.offsets
    parents = skeleton.parents
    ends: dict[int, list[int]] = {}
    for k, p in enumerate(end_parents):
        ends.setdefault(int(p), []).append(k)
    digits = max(precision, 10)  # OFFSETs: shortest form that keeps 10 decimals (rest offsets stay exact)

    def vec(v: np.ndarray) -> str:
        return " ".join(np.format_float_positional(float(x), precision=digits, unique=True, trim="-") for x in v)

    lines = ["HIERARCHY"]
    open_joints: list[int] = []  # joints whose block is still open, innermost last

    def close_until(parent: int) -> None:
        while open_joints and open_joints[-1] != parent:
            j = open_joints.pop()
            ind = "\t" * len(open_joints)
            for k in ends.get(j, []):
                lines.extend([f"{ind}\tEnd Site", f"{ind}\t{{", f"{ind}\t\tOFFSET {vec(end_offsets[k])}", f"{ind}\t}}"])
            lines.append(f"{ind}}}")

    for j in dfs:
        close_until(int(parents[j]))
        ind = "\t" * len(open_joints)
        rot = " ".join(f"{a}rotation" for a in orders[j])
        chans = f"6 Xposition Yposition Zposition {rot}" if has_pos[j] else f"3 {rot}"
        lines.extend([f"{ind}{'ROOT' if j == 0 else 'JOINT'} {names[j]}", f"{ind}{{",
                      f"{ind}\tOFFSET {vec(offsets[j])}", f"{ind}\tCHANNELS {chans}"])
        open_joints.append(j)
    close_until(-1)
    return "\n".join(lines) + "\n"
