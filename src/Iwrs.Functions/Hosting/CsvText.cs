namespace Iwrs.Functions.Hosting;

/// <summary>
/// Every CSV the API writes goes through here. A cell that starts with '=', '+', '-', '@', a tab or a carriage return
/// is what a spreadsheet runs as a formula (<c>=cmd|' /C calc'!A0</c>, <c>@SUM(…)</c>), so it gets a leading
/// apostrophe, which shows as text; a cell holding a comma, a double quote, CR or LF is quoted as RFC 4180 says,
/// inner quotes doubled. Lines end in LF.
/// </summary>
public static class CsvText
{
    private static readonly System.Buffers.SearchValues<char> FormulaStarts = System.Buffers.SearchValues.Create("=+-@\t\r");
    private static readonly System.Buffers.SearchValues<char> NeedsQuotes = System.Buffers.SearchValues.Create(",\"\r\n");

    /// <summary>The cell as written: empty for null.</summary>
    public static string Cell(string? value)
    {
        if (string.IsNullOrEmpty(value))
        {
            return string.Empty;
        }

        var safe = FormulaStarts.Contains(value[0]) ? "'" + value : value;
        return safe.AsSpan().ContainsAny(NeedsQuotes) ? "\"" + safe.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : safe;
    }

    /// <summary>One line: the cells, comma-separated, and a closing LF.</summary>
    public static string Row(IEnumerable<string?> cells) => string.Join(',', cells.Select(Cell)) + "\n";
}
