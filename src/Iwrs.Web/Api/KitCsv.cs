using System.Globalization;
using System.Text.RegularExpressions;

namespace Iwrs.Web.Api;

/// <summary>One line of the depot's kit list as the API takes it.</summary>
public sealed record KitLine(string KitNumber, string KitType, string Lot, string Expiry);

/// <summary>A row of the CSV file: its line number, the kit it describes, or why it could not be read.</summary>
public sealed record KitRow(int Line, KitLine? Kit, string? Error);

/// <summary>
/// Reads a kit list CSV (<c>kitNumber,kitType,lot,expiry</c>, a header line first, columns in any order). Only the
/// file's shape is checked here; what a kit may be is the API's to decide, and its field errors come back per row.
/// </summary>
public static partial class KitCsv
{
    private static readonly string[] Columns = ["kitNumber", "kitType", "lot", "expiry"];

    public static (IReadOnlyList<KitRow> Rows, string? Error) Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var lines = text.Replace("\r\n", "\n", StringComparison.Ordinal).Replace('\r', '\n').Split('\n');
        var header = lines.Length == 0 ? [] : Split(lines[0]);
        var index = Columns.Select(c => Array.FindIndex(header, h => string.Equals(h, c, StringComparison.OrdinalIgnoreCase))).ToArray();
        if (index.Any(i => i < 0))
        {
            return ([], "The first line must name the columns kitNumber, kitType, lot and expiry (comma-separated).");
        }

        var rows = new List<KitRow>();
        for (var n = 1; n < lines.Length; n++)
        {
            if (string.IsNullOrWhiteSpace(lines[n]))
            {
                continue;
            }

            var cells = Split(lines[n]);
            var line = n + 1;
            rows.Add(cells.Length != header.Length
                ? new KitRow(line, null, string.Create(CultureInfo.InvariantCulture, $"has {cells.Length} values; the header names {header.Length}."))
                : new KitRow(line, new KitLine(cells[index[0]], cells[index[1]], cells[index[2]], cells[index[3]]), null));
        }

        return rows.Count == 0 ? (rows, "The file lists no kits.") : (rows, null);
    }

    /// <summary>The row index the API's field name points at (<c>kits[3].expiry</c> → 3), or null for the whole list.</summary>
    public static int? RowOf(string field)
    {
        var match = IndexPattern().Match(field);
        return match.Success ? int.Parse(match.Groups[1].ValueSpan, CultureInfo.InvariantCulture) : null;
    }

    private static string[] Split(string line) => line.Split(',').Select(c => c.Trim().Trim('"').Trim()).ToArray();

    [GeneratedRegex(@"^kits\[(\d+)\]")]
    private static partial Regex IndexPattern();
}
