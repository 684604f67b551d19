using System.Globalization;
using System.Text;

namespace Braid.Lab.Report;

/// <summary>
/// Appends SVG elements to a string: every number in invariant culture with at most two decimals
/// (a report must read the same on every machine), every text and attribute value escaped for XML
/// (targets and notes come from the outside and may hold '&lt;' or '&amp;').
/// </summary>
internal sealed class SvgWriter
{
    private readonly StringBuilder _svg = new();

    public SvgWriter(double widthPx, double heightPx, string title)
    {
        _svg.Append("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"").Append(N(widthPx))
            .Append("\" height=\"").Append(N(heightPx)).Append("\" viewBox=\"0 0 ").Append(N(widthPx)).Append(' ')
            .Append(N(heightPx)).Append("\" font-family=\"DejaVu Sans, Verdana, sans-serif\">\n");
        _svg.Append("<title>").Append(Escape(title)).Append("</title>\n");
        Rect(0, 0, widthPx, heightPx, "fill=\"#ffffff\"");
    }

    /// <summary>Formats a coordinate or value for an attribute: invariant, two decimals at most.</summary>
    public static string N(double value) =>
        double.IsFinite(value) ? Math.Round(value, 2).ToString("0.##", CultureInfo.InvariantCulture) : "0";

    /// <summary>Escapes text for XML content and attribute values alike; drops characters XML 1.0
    /// cannot hold at all (control characters), so any target name yields a well-formed file.</summary>
    public static string Escape(string text)
    {
        var escaped = new StringBuilder(text.Length);
        foreach (var c in text)
        {
            switch (c)
            {
                case '&': escaped.Append("&amp;"); break;
                case '<': escaped.Append("&lt;"); break;
                case '>': escaped.Append("&gt;"); break;
                case '"': escaped.Append("&quot;"); break;
                case '\'': escaped.Append("&apos;"); break;
                case '\t' or '\n' or '\r': escaped.Append(' '); break;
                default:
                    if (c >= ' ' && c != '\uFFFE' && c != '\uFFFF') escaped.Append(c);
                    break;
            }
        }
        return escaped.ToString();
    }

    public void Raw(string text) => _svg.Append(text).Append('\n');

    /// <summary>A rectangle; <paramref name="tooltip"/>, if any, becomes its SVG title (shown on hover).</summary>
    public void Rect(double x, double y, double width, double height, string attributes, string? tooltip = null)
    {
        _svg.Append("<rect x=\"").Append(N(x)).Append("\" y=\"").Append(N(y))
            .Append("\" width=\"").Append(N(Math.Max(0, width))).Append("\" height=\"").Append(N(Math.Max(0, height)))
            .Append("\" ").Append(attributes);
        if (tooltip is null) _svg.Append("/>\n");
        else _svg.Append("><title>").Append(Escape(tooltip)).Append("</title></rect>\n");
    }

    public void Line(double x1, double y1, double x2, double y2, string attributes) =>
        _svg.Append("<line x1=\"").Append(N(x1)).Append("\" y1=\"").Append(N(y1)).Append("\" x2=\"").Append(N(x2))
            .Append("\" y2=\"").Append(N(y2)).Append("\" ").Append(attributes).Append("/>\n");

    public void Circle(double x, double y, double radius, string attributes) =>
        _svg.Append("<circle cx=\"").Append(N(x)).Append("\" cy=\"").Append(N(y)).Append("\" r=\"").Append(N(radius))
            .Append("\" ").Append(attributes).Append("/>\n");

    /// <summary>Text at (x, y); <paramref name="anchor"/> is start, middle or end.</summary>
    public void Text(double x, double y, string text, string anchor = "start", double sizePx = 11, string attributes = "") =>
        _svg.Append("<text x=\"").Append(N(x)).Append("\" y=\"").Append(N(y)).Append("\" font-size=\"").Append(N(sizePx))
            .Append("\" text-anchor=\"").Append(anchor).Append("\" ").Append(attributes).Append('>')
            .Append(Escape(text)).Append("</text>\n");

    public void Polyline(IReadOnlyList<(double X, double Y)> points, string attributes)
    {
        _svg.Append("<polyline points=\"");
        foreach (var (x, y) in points) _svg.Append(N(x)).Append(',').Append(N(y)).Append(' ');
        _svg.Append("\" ").Append(attributes).Append("/>\n");
    }

    public void Polygon(IReadOnlyList<(double X, double Y)> points, string attributes)
    {
        _svg.Append("<polygon points=\"");
        foreach (var (x, y) in points) _svg.Append(N(x)).Append(',').Append(N(y)).Append(' ');
        _svg.Append("\" ").Append(attributes).Append("/>\n");
    }

    public override string ToString() => _svg.ToString() + "</svg>\n";
}
