using System.Globalization;
using System.Text;

namespace ConsentHub.OperatorConsole;

/// <summary>A part of a bar: its figure, what it counts, and the stylesheet class that colours it.</summary>
public sealed record Segment(string Name, int Value, string Class);

/// <summary>
/// Charts drawn on the server as inline SVG, so the console needs no script and the strict content security policy
/// holds. Each is a <c>figure</c> whose caption names it; the drawing is one image to assistive technology, described
/// in words, and its figures follow in a table, which screen readers and the tests read. Colours come from the
/// stylesheet and are never the only carrier of meaning: every bar is labelled with its figures.
/// </summary>
public static class Charts
{
    const int Width = 720;

    /// <summary>A column per period (hours, days), scaled to the largest; every <paramref name="labelEvery"/>th labelled below.</summary>
    public static string Columns(string id, string caption, string periodHeading, string valueHeading,
        IReadOnlyList<(string Label, string Period, int Value)> points, int labelEvery)
    {
        const int height = 190, left = 44, right = 8, top = 12, bottom = 26;
        var plotWidth = Width - left - right;
        var plotHeight = height - top - bottom;
        var max = Math.Max(1, points.Count == 0 ? 0 : points.Max(p => p.Value));
        var step = (double)plotWidth / Math.Max(1, points.Count);
        var total = points.Sum(p => p.Value);
        var description = total == 0
            ? "None in this period."
            : $"{N(total)} in all; the most, {N(points.MaxBy(p => p.Value).Value)}, in {points.MaxBy(p => p.Value).Period}.";

        var svg = new StringBuilder();
        svg.Append($"""<svg class="chart" viewBox="0 0 {Width} {height}" role="img" aria-labelledby="{id}-caption {id}-description" focusable="false">""");
        svg.Append($"""<desc id="{id}-description">{ConsoleHtml.E(description)}</desc>""");
        svg.Append($"""<line class="axis" x1="{left}" y1="{top + plotHeight}" x2="{Width - right}" y2="{top + plotHeight}"/>""");
        svg.Append($"""<text class="tick" x="{left - 6}" y="{top + 4}" text-anchor="end">{N(max)}</text>""");
        svg.Append($"""<text class="tick" x="{left - 6}" y="{top + plotHeight}" text-anchor="end">0</text>""");
        for (var i = 0; i < points.Count; i++)
        {
            var (label, period, value) = points[i];
            var barHeight = value == 0 ? 0 : Math.Max(1.5, plotHeight * (double)value / max);
            var x = left + i * step + step * 0.15;
            svg.Append($"""<rect class="bar" x="{D(x)}" y="{D(top + plotHeight - barHeight)}" width="{D(step * 0.7)}" height="{D(barHeight)}"><title>{ConsoleHtml.E(period)}: {N(value)}</title></rect>""");
            if (i % labelEvery == 0)
                svg.Append($"""<text class="tick" x="{D(left + i * step + step / 2)}" y="{height - 8}" text-anchor="middle">{ConsoleHtml.E(label)}</text>""");
        }
        svg.Append("</svg>");

        var rows = new StringBuilder();
        foreach (var (_, period, value) in points)
            rows.Append($"""<tr><th scope="row">{ConsoleHtml.E(period)}</th><td>{N(value)}</td></tr>""");
        return Figure(id, caption, svg.ToString(),
            $"""<thead><tr><th scope="col">{ConsoleHtml.E(periodHeading)}</th><th scope="col">{ConsoleHtml.E(valueHeading)}</th></tr></thead><tbody>{rows}</tbody>""");
    }

    /// <summary>A horizontal bar per row, its segments side by side, all scaled to the longest bar; the figures written after each.</summary>
    public static string Bars(string id, string caption, string rowHeading, IReadOnlyList<(string Label, IReadOnlyList<Segment> Segments)> rows)
    {
        const int rowHeight = 30, labelWidth = 230, figuresWidth = 170, top = 6;
        var plotWidth = Width - labelWidth - figuresWidth;
        var height = top * 2 + Math.Max(1, rows.Count) * rowHeight;
        var max = Math.Max(1, rows.Count == 0 ? 0 : rows.Max(r => r.Segments.Sum(s => s.Value)));
        var description = rows.Count == 0
            ? "Nothing to show."
            : string.Join("; ", rows.Select(r => $"{r.Label}: {Figures(r.Segments)}")) + ".";

        var svg = new StringBuilder();
        svg.Append($"""<svg class="chart" viewBox="0 0 {Width} {height}" role="img" aria-labelledby="{id}-caption {id}-description" focusable="false">""");
        svg.Append($"""<desc id="{id}-description">{ConsoleHtml.E(description)}</desc>""");
        for (var i = 0; i < rows.Count; i++)
        {
            var (label, segments) = rows[i];
            var y = top + i * rowHeight;
            svg.Append($"""<text class="label" x="{labelWidth - 8}" y="{y + rowHeight / 2 + 4}" text-anchor="end">{ConsoleHtml.E(Shorten(label, 30))}</text>""");
            double x = labelWidth;
            foreach (var segment in segments.Where(s => s.Value > 0))
            {
                var w = Math.Max(1.5, plotWidth * (double)segment.Value / max);
                svg.Append($"""<rect class="{segment.Class}" x="{D(x)}" y="{y + 5}" width="{D(w)}" height="{rowHeight - 10}"><title>{ConsoleHtml.E(label)}: {N(segment.Value)} {ConsoleHtml.E(segment.Name)}</title></rect>""");
                x += w;
            }
            svg.Append($"""<text class="tick" x="{D(x + 6)}" y="{y + rowHeight / 2 + 4}">{ConsoleHtml.E(Figures(segments))}</text>""");
        }
        svg.Append("</svg>");

        var names = rows.Count == 0 ? [] : rows[0].Segments.Select(s => s.Name).ToList();
        var head = $"""<thead><tr><th scope="col">{ConsoleHtml.E(rowHeading)}</th>{string.Concat(names.Select(n => $"<th scope=\"col\">{ConsoleHtml.E(Capital(n))}</th>"))}</tr></thead>""";
        var body = new StringBuilder("<tbody>");
        foreach (var (label, segments) in rows)
            body.Append($"""<tr><th scope="row">{ConsoleHtml.E(label)}</th>{string.Concat(segments.Select(s => $"<td>{N(s.Value)}</td>"))}</tr>""");
        body.Append("</tbody>");
        return Figure(id, caption, svg.ToString(), head + body);
    }

    static string Figure(string id, string caption, string svg, string table) => $"""
        <figure class="chart-figure" aria-labelledby="{id}-caption">
        <figcaption id="{id}-caption">{ConsoleHtml.E(caption)}</figcaption>
        {svg}
        <details><summary>Figures: {ConsoleHtml.E(caption)}</summary><table id="{id}-figures">{table}</table></details>
        </figure>
        """;

    static string Figures(IReadOnlyList<Segment> segments) => string.Join(", ", segments.Select(s => $"{N(s.Value)} {s.Name}"));

    static string Shorten(string text, int length) => text.Length <= length ? text : text[..(length - 1)] + "…";

    static string Capital(string text) => text.Length == 0 ? text : char.ToUpperInvariant(text[0]) + text[1..];

    static string N(int value) => value.ToString("N0", CultureInfo.InvariantCulture);

    static string D(double value) => value.ToString("0.##", CultureInfo.InvariantCulture);
}
