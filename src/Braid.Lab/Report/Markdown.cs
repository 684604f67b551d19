using System.Text;

namespace Braid.Lab.Report;

/// <summary>Writes the little Markdown the report needs: headings, lists and tables, with every
/// value from the outside (targets, problems, notes, settings) escaped, so a target named
/// <c>&lt;A&amp;B&gt;</c> or a note holding '|' cannot turn into HTML or break a table.</summary>
internal sealed class Markdown
{
    private readonly StringBuilder _text = new();

    /// <summary>Backslash-escapes the characters Markdown (GitHub's flavour) would act on, and folds
    /// line breaks into spaces (a table cell or list item is one line).</summary>
    public static string Escape(string text)
    {
        var escaped = new StringBuilder(text.Length + 8);
        foreach (var c in text)
        {
            if (c is '\r' or '\n' or '\t') escaped.Append(' ');
            else if (c is '\\' or '`' or '*' or '_' or '[' or ']' or '<' or '>' or '|' or '&' or '~')
                escaped.Append('\\').Append(c);
            else if (!char.IsControl(c)) escaped.Append(c);
        }
        return escaped.ToString();
    }

    public void Heading(int level, string text) => _text.Append('#', level).Append(' ').Append(Escape(text)).Append("\n\n");

    /// <summary>A paragraph of Markdown written by the report itself (not escaped).</summary>
    public void Paragraph(string markdown) => _text.Append(markdown).Append("\n\n");

    public void Bullets(IEnumerable<string> items)
    {
        foreach (var item in items) _text.Append("- ").Append(Escape(item)).Append('\n');
        _text.Append('\n');
    }

    /// <summary>A table; <paramref name="rightAligned"/> marks numeric columns. Cells are written as
    /// given: callers escape values from the outside with <see cref="Escape"/>.</summary>
    public void Table(IReadOnlyList<string> headers, IEnumerable<IReadOnlyList<string>> rows,
        IReadOnlySet<int>? rightAligned = null)
    {
        _text.Append("| ").Append(string.Join(" | ", headers)).Append(" |\n|");
        for (var i = 0; i < headers.Count; i++) _text.Append(rightAligned?.Contains(i) == true ? "---:|" : "---|");
        _text.Append('\n');
        foreach (var row in rows) _text.Append("| ").Append(string.Join(" | ", row)).Append(" |\n");
        _text.Append('\n');
    }

    public override string ToString() => _text.ToString().TrimEnd() + "\n";
}
