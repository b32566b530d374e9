"""The per-layer table as text: aligned columns for a terminal, Markdown for a README, JSON for a program."""

import json

FORMATS = ("table", "markdown", "json")
COLUMNS = ("layer", "type", "kernel", "stride", "dilation", "padding", "output", "params", "MACs", "RF", "jump")
_NUMERIC = {"params", "MACs", "RF", "jump"}


def format_stats(stats, fmt="table", *, max_rows=None):
    """`layer_stats(model)` as text in one of FORMATS.

    `max_rows` keeps the first and last rows of a long table (not of JSON), with a line saying how many were cut.
    """
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {FORMATS}, got {fmt!r}.")
    if fmt == "json":
        return json.dumps(stats.to_dict(), indent=1)
    rows = [_cells(row) for row in stats.layers]
    if max_rows is not None and len(rows) > max_rows:
        head, tail = max_rows - max_rows // 3, max_rows // 3
        rows = rows[:head] + [f"... {len(rows) - head - tail} more layers ..."] + rows[len(rows) - tail :]
    body = _markdown(rows) if fmt == "markdown" else _aligned(rows)
    return f"{body}\n\n{_totals_text(stats)}"


def human(count):
    """1234567 -> "1.23M": three significant digits and an SI suffix."""
    for value, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "K")):
        if abs(count) >= value:
            return f"{count / value:.3g}{suffix}"
    return str(count)


def _cells(row):
    window = row.window if row.conv_or_pool else None
    pads = row.window.padding if row.window and (row.conv_or_pool or any(any(p) for p in row.window.padding)) else None
    return (
        row.name,
        row.type,
        _axes(window.kernel) if window else "",
        _axes(window.stride) if window else "",
        _axes(window.dilation) if window and any(d > 1 for d in window.dilation) else "",
        _padding(pads) if pads else "",
        _shape(row.output_shape),
        f"{row.params:,}" if row.params else "",
        "?" if row.macs is None else (human(row.macs) if row.macs else ""),
        _axes(row.receptive_field) if row.field else "?",
        _axes(row.jump) if row.field and len(row.output_shape) > 1 else "",
    )


def _shape(dims):
    return "x".join("?" if d is None else str(d) for d in dims)


def _axes(values):
    """(3, 3) -> "3"; (7, 1) -> "7x1"."""
    return str(values[0]) if len(set(values)) == 1 else "x".join(map(str, values))


def _padding(pads):
    """((1, 1), (1, 1)) -> "1"; ((0, 1), (0, 1)) -> "0/1" (before/after); mixed axes are listed per axis."""
    per_axis = [str(before) if before == after else f"{before}/{after}" for before, after in pads]
    return _axes(per_axis).replace("x", ", ") if len(set(per_axis)) > 1 else per_axis[0]


def _aligned(rows):
    """Columns padded to their widest cell, numbers right-aligned; a row that is a string is printed as it is."""
    widths = [max(len(c) for c in column) for column in zip(COLUMNS, *(r for r in rows if not isinstance(r, str)))]
    lines = []
    for cells in [COLUMNS, *rows]:
        if isinstance(cells, str):
            lines.append(cells)
        else:
            padded = (c.rjust(w) if name in _NUMERIC else c.ljust(w) for c, w, name in zip(cells, widths, COLUMNS))
            lines.append("  ".join(padded).rstrip())
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)


def _markdown(rows):
    align = ("---:" if name in _NUMERIC else "---" for name in COLUMNS)
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "|".join(align) + "|"]
    for cells in rows:
        cells = (cells,) + ("",) * (len(COLUMNS) - 1) if isinstance(cells, str) else cells
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _totals_text(stats):
    t = stats.totals
    lines = [
        f"{stats.name}: input {_shape(stats.input_shape)}, {len(stats.layers)} layers",
        f"parameters: {t.params:,} ({t.trainable_params:,} trainable)",
        f"multiply-accumulates: {t.macs:,} ({human(t.macs)}: conv {human(t.conv_macs)}, fully connected "
        f"{human(t.dense_macs)})",
    ]
    if t.unknown_macs:
        more = len(t.unknown_macs) - 3
        names = ", ".join(t.unknown_macs[:3]) + (f" and {more} more" if more > 0 else "")
        reason = "the input size is not fixed" if None in stats.input_shape[:-1] else "layers this tool does not know"
        lines.append(f"MACs not counted in {names}: {reason}")
    return "\n".join(lines)
