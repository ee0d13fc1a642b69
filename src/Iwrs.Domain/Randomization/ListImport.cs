using System.Globalization;
using System.Text;
using Iwrs.Domain.Studies;

namespace Iwrs.Domain.Randomization;

/// <summary>
/// Reads a randomization list a statistician produced elsewhere (SAS, R) and checks it against the study, so
/// that an imported list is held to the same rules as a generated one.
/// </summary>
/// <remarks>
/// The file is CSV (RFC 4180: comma-separated, fields optionally in double quotes with "" for a quote; CRLF or
/// LF line ends; a UTF-8 byte-order mark and blank lines at the end are ignored). The first line is a header
/// naming exactly the columns <c>stratum</c>, <c>position</c>, <c>block</c>, <c>blockSize</c>, <c>arm</c> in any
/// order and any case. Rows may come in any order; they are put in stratum, then position, order. Spaces around
/// values are ignored (SAS pads formatted values, and no valid value contains a space). Every problem is
/// reported, with the field <c>line {n}</c> (the physical line a row starts on) or <c>stratum {key}</c>.
/// </remarks>
public static class ListImport
{
    /// <summary>
    /// A file that is wrong everywhere would otherwise produce one error per row; past this many the rest are
    /// summarised, which keeps the problem-details answer small while still showing every kind of mistake.
    /// </summary>
    public const int MaxReportedErrors = 1000;

    private static readonly string[] Columns = ["stratum", "position", "block", "blockSize", "arm"];

    /// <summary>
    /// The minimum an upload asks for, which is also the list's public number (<see cref="RandomizationList.PublicSlotsPerStratum"/>):
    /// required in a blinded study, where a stratum takes that many subjects and no more; 1 when an open-label upload omits it.
    /// </summary>
    public static Result<int> MinimumSlotsPerStratum(StudyConfiguration study, int? requested)
    {
        ArgumentNullException.ThrowIfNull(study);
        return requested is { } n ? n
            : study.IsBlinded
                ? DomainError.Validation(
                    [new FieldError("minimumSlotsPerStratum", "is required in a blinded study: it is how many subjects each stratum takes (the list's own length, whole blocks of secret sizes, is never where a stratum ends).")],
                    "The randomization list cannot be imported.")
                : 1;
    }

    public static Result<RandomizationList> FromCsv(StudyConfiguration study, string csv, int minimumSlotsPerStratum)
    {
        ArgumentNullException.ThrowIfNull(study);
        ArgumentNullException.ThrowIfNull(csv);
        var scheme = study.Randomization;
        if (scheme is null)
        {
            return Strata.NotApplicable(study);
        }

        if (minimumSlotsPerStratum < 1 || minimumSlotsPerStratum > RandomizationList.MaxSlots)
        {
            return Invalid([new FieldError("minimumSlotsPerStratum", $"must be between 1 and {RandomizationList.MaxSlots}.")]);
        }

        var errors = new List<FieldError>();
        var records = CsvReader.Read(csv, RandomizationList.MaxSlots + 1, errors);
        if (records.Count == 0 || records[0].IsBlank)
        {
            errors.Insert(0, new FieldError("line 1", $"the header is missing; the first line must name the columns {string.Join(",", Columns)}."));
            return Invalid(errors);
        }

        var header = records[0];
        var columnIndex = ReadHeader(header, errors);
        if (columnIndex is null)
        {
            return Invalid(errors);
        }

        var strata = Strata.All(study);
        var knownStrata = strata.Select(s => s.Key).ToHashSet(StringComparer.Ordinal);
        var arms = study.Arms.Select(a => a.Code).ToHashSet(StringComparer.Ordinal);
        var rows = new List<Row>();
        var strataWithBadRows = new HashSet<string>(StringComparer.Ordinal);
        var dataRecords = records.Skip(1).ToList();
        if (dataRecords.Count > RandomizationList.MaxSlots)
        {
            errors.Add(new FieldError(Line(dataRecords[RandomizationList.MaxSlots].Line), $"the list has more than {RandomizationList.MaxSlots} rows."));
            return Invalid(errors);
        }

        foreach (var record in dataRecords)
        {
            var row = record.IsMalformed ? null : ReadRow(record, columnIndex, knownStrata, arms, errors);
            if (row is not null)
            {
                rows.Add(row);
            }
            else if (columnIndex["stratum"] < record.Fields.Count && knownStrata.Contains(record.Fields[columnIndex["stratum"]]))
            {
                strataWithBadRows.Add(record.Fields[columnIndex["stratum"]]);
            }
        }

        var byStratum = rows.GroupBy(r => r.Stratum, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.ToList(), StringComparer.Ordinal);
        var slots = new List<ListSlot>(rows.Count);
        foreach (var stratum in strata)
        {
            var stratumRows = byStratum.GetValueOrDefault(stratum.Key) ?? [];

            // A stratum with unreadable rows cannot be judged as a whole: its gaps and unbalanced blocks would
            // only echo the row errors already reported. It is checked in full once those rows are fixed.
            if (strataWithBadRows.Contains(stratum.Key))
            {
                continue;
            }

            if (stratumRows.Count == 0)
            {
                errors.Add(new FieldError(Field(stratum.Key), $"has no rows; every stratum needs at least {minimumSlotsPerStratum} slots."));
                continue;
            }

            stratumRows.Sort((a, b) => a.Position != b.Position ? a.Position.CompareTo(b.Position) : a.Line.CompareTo(b.Line));
            CheckStratum(study, scheme.BlockSizes, stratum.Key, stratumRows, minimumSlotsPerStratum, errors);
            slots.AddRange(stratumRows.Select(r => new ListSlot(r.Stratum, r.Position, r.Block, r.BlockSize, r.Arm)));
        }

        if (errors.Count > 0)
        {
            return Invalid(errors);
        }

        return RandomizationList.Create(slots, RandomizationList.ImportedSource, minimumSlotsPerStratum);
    }

    private static Dictionary<string, int>? ReadHeader(CsvRecord header, List<FieldError> errors)
    {
        if (header.IsMalformed)
        {
            return null;
        }

        var field = Line(header.Line);
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        var ok = true;
        for (var i = 0; i < header.Fields.Count; i++)
        {
            var name = header.Fields[i];
            var column = Columns.FirstOrDefault(c => string.Equals(c, name, StringComparison.OrdinalIgnoreCase));
            if (column is null)
            {
                errors.Add(new FieldError(field, $"column '{name}' is not expected; the columns are {string.Join(",", Columns)}."));
                ok = false;
            }
            else if (!index.TryAdd(column, i))
            {
                errors.Add(new FieldError(field, $"column '{column}' appears twice."));
                ok = false;
            }
        }

        foreach (var column in Columns.Where(c => !index.ContainsKey(c)))
        {
            errors.Add(new FieldError(field, $"column '{column}' is missing."));
            ok = false;
        }

        return ok ? index : null;
    }

    private static Row? ReadRow(CsvRecord record, Dictionary<string, int> columnIndex, HashSet<string> knownStrata, HashSet<string> arms, List<FieldError> errors)
    {
        var field = Line(record.Line);
        if (record.IsBlank)
        {
            errors.Add(new FieldError(field, "is blank; blank lines are allowed only at the end of the file."));
            return null;
        }

        if (record.Fields.Count != Columns.Length)
        {
            errors.Add(new FieldError(field, $"has {record.Fields.Count} fields; every row needs {Columns.Length}."));
            return null;
        }

        var ok = true;
        var stratum = record.Fields[columnIndex["stratum"]];
        if (!knownStrata.Contains(stratum))
        {
            errors.Add(new FieldError(field, $"stratum '{stratum}' is not a stratum of this study."));
            ok = false;
        }

        var arm = record.Fields[columnIndex["arm"]];
        if (!arms.Contains(arm))
        {
            errors.Add(new FieldError(field, $"arm '{arm}' is not an arm of this study; use one of {string.Join(", ", arms)}."));
            ok = false;
        }

        var position = PositiveInteger(record, columnIndex, "position", errors);
        var block = PositiveInteger(record, columnIndex, "block", errors);
        var blockSize = PositiveInteger(record, columnIndex, "blockSize", errors);
        return ok && position is not null && block is not null && blockSize is not null
            ? new Row(record.Line, stratum, position.Value, block.Value, blockSize.Value, arm)
            : null;
    }

    private static int? PositiveInteger(CsvRecord record, Dictionary<string, int> columnIndex, string column, List<FieldError> errors)
    {
        var text = record.Fields[columnIndex[column]];
        if (!int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value))
        {
            errors.Add(new FieldError(Line(record.Line), $"{column} '{text}' is not an integer."));
            return null;
        }

        if (value < 1)
        {
            errors.Add(new FieldError(Line(record.Line), $"{column} {value} must be 1 or more."));
            return null;
        }

        return value;
    }

    /// <summary>Rows are sorted by position. Position errors stop the block checks, which assume the order.</summary>
    private static void CheckStratum(StudyConfiguration study, IReadOnlyList<int> blockSizes, string stratum, List<Row> rows, int minimum, List<FieldError> errors)
    {
        var field = Field(stratum);
        var positionsOk = true;
        for (var i = 1; i < rows.Count; i++)
        {
            if (rows[i].Position == rows[i - 1].Position)
            {
                errors.Add(new FieldError(field, $"position {rows[i].Position} appears twice (lines {rows[i - 1].Line} and {rows[i].Line})."));
                positionsOk = false;
            }
        }

        var distinct = rows.Select(r => r.Position).Distinct().ToList();
        if (distinct[^1] != distinct.Count)
        {
            var present = distinct.ToHashSet();
            // Lazily, and only the first few: one stray position 2,000,000,000 must not enumerate them all.
            var missing = Enumerable.Range(1, distinct[^1]).Where(p => !present.Contains(p)).Take(11).ToList();
            var shown = string.Join(", ", missing.Take(10)) + (missing.Count > 10 ? ", …" : "");
            errors.Add(new FieldError(field, $"positions must run from 1 without gaps; missing: {shown}."));
            positionsOk = false;
        }

        if (distinct.Count < minimum)
        {
            errors.Add(new FieldError(field, $"has {distinct.Count} slots, not enough: at least {minimum} are needed."));
        }

        if (!positionsOk)
        {
            return;
        }

        var blocks = new List<List<Row>>();
        foreach (var row in rows)
        {
            if (blocks.Count > 0 && blocks[^1][0].Block == row.Block)
            {
                blocks[^1].Add(row);
                continue;
            }

            var expected = blocks.Count + 1;
            if (row.Block != expected)
            {
                errors.Add(new FieldError(field, $"position {row.Position} (line {row.Line}) is in block {row.Block} where block {expected} was expected: blocks are numbered 1, 2, 3, … in position order and each block's rows are contiguous."));
                return;
            }

            blocks.Add([row]);
        }

        var ratioSum = study.Arms.Sum(a => a.Ratio);
        for (var b = 0; b < blocks.Count; b++)
        {
            var block = blocks[b];
            var number = b + 1;
            var sizes = block.Select(r => r.BlockSize).Distinct().ToList();
            if (sizes.Count > 1)
            {
                errors.Add(new FieldError(field, $"block {number} gives different block sizes ({string.Join(", ", sizes)}) on its rows."));
                continue;
            }

            var size = sizes[0];
            if (!blockSizes.Contains(size))
            {
                errors.Add(new FieldError(field, $"block {number} has block size {size}, which is not one of the configured sizes ({string.Join(", ", blockSizes)})."));
                continue;
            }

            if (block.Count > size)
            {
                errors.Add(new FieldError(field, $"block {number} has {block.Count} rows, more than its block size {size}."));
                continue;
            }

            var counts = study.Arms.Select(a => (Arm: a, Share: a.Ratio * size / ratioSum, Count: block.Count(r => r.Arm == a.Code))).ToList();
            var found = string.Join(", ", counts.Select(c => $"{c.Arm.Code}×{c.Count}"));
            var wanted = string.Join(", ", counts.Select(c => $"{c.Arm.Code}×{c.Share}"));
            if (block.Count == size)
            {
                if (counts.Any(c => c.Count != c.Share))
                {
                    errors.Add(new FieldError(field, $"block {number} is not balanced: it holds {found}; a block of {size} holds {wanted}."));
                }
            }
            else if (number != blocks.Count)
            {
                errors.Add(new FieldError(field, $"block {number} has {block.Count} of its {size} rows; only the last block of a stratum may be incomplete."));
            }
            else if (counts.Any(c => c.Count > c.Share))
            {
                errors.Add(new FieldError(field, $"the incomplete last block {number} holds {found}, more of an arm than a block of {size} may hold ({wanted})."));
            }
        }
    }

    private static DomainError Invalid(List<FieldError> errors)
    {
        if (errors.Count > MaxReportedErrors)
        {
            var more = errors.Count - MaxReportedErrors;
            errors = [.. errors.Take(MaxReportedErrors), new FieldError("csv", $"{more} more errors are not shown.")];
        }

        return DomainError.Validation(errors, "The randomization list is not valid.");
    }

    private static string Line(int line) => "line " + line.ToString(CultureInfo.InvariantCulture);

    private static string Field(string stratum) => "stratum " + stratum;

    private sealed record Row(int Line, string Stratum, int Position, int Block, int BlockSize, string Arm);

    /// <summary>One CSV record: the physical line it starts on and its fields, trimmed and unquoted.</summary>
    private sealed record CsvRecord(int Line, List<string> Fields, bool IsMalformed)
    {
        public bool IsBlank => Fields.Count == 1 && Fields[0].Length == 0 && !IsMalformed;
    }

    /// <summary>An RFC 4180 reader that reports malformed quoting per line and carries on with the next line.</summary>
    private static class CsvReader
    {
        public static List<CsvRecord> Read(string csv, int maxRecords, List<FieldError> errors)
        {
            var records = new List<CsvRecord>();
            var value = new StringBuilder();
            var i = csv.Length > 0 && csv[0] == '\uFEFF' ? 1 : 0;
            var line = 1;
            while (i < csv.Length && records.Count <= maxRecords)
            {
                var start = line;
                var fields = new List<string>();
                string? problem = null;
                var endOfRecord = false;
                while (!endOfRecord)
                {
                    value.Clear();
                    while (i < csv.Length && csv[i] is ' ' or '\t')
                    {
                        value.Append(csv[i]);
                        i++;
                    }

                    if (i < csv.Length && csv[i] == '"')
                    {
                        value.Clear();
                        i++;
                        var closed = false;
                        while (i < csv.Length)
                        {
                            var c = csv[i];
                            if (c == '"' && i + 1 < csv.Length && csv[i + 1] == '"')
                            {
                                value.Append('"');
                                i += 2;
                            }
                            else if (c == '"')
                            {
                                i++;
                                closed = true;
                                break;
                            }
                            else
                            {
                                if (c == '\n' || (c == '\r' && (i + 1 >= csv.Length || csv[i + 1] != '\n')))
                                {
                                    line++;
                                }

                                value.Append(c);
                                i++;
                            }
                        }

                        if (!closed)
                        {
                            errors.Add(new FieldError(Line(start), "a quoted field is not closed before the end of the file."));
                            records.Add(new CsvRecord(start, fields, IsMalformed: true));
                            return records;
                        }

                        while (i < csv.Length && csv[i] is ' ' or '\t')
                        {
                            i++;
                        }

                        if (i < csv.Length && csv[i] is not (',' or '\r' or '\n'))
                        {
                            problem ??= "has text after a closing quote.";
                        }
                    }

                    while (i < csv.Length && csv[i] is not (',' or '\r' or '\n'))
                    {
                        if (csv[i] == '"')
                        {
                            problem ??= "has a quote inside an unquoted field; quote the whole field and double the quote.";
                        }

                        value.Append(csv[i]);
                        i++;
                    }

                    fields.Add(value.ToString().Trim());
                    if (i >= csv.Length)
                    {
                        endOfRecord = true;
                    }
                    else if (csv[i] == ',')
                    {
                        i++;
                    }
                    else
                    {
                        i += csv[i] == '\r' && i + 1 < csv.Length && csv[i + 1] == '\n' ? 2 : 1;
                        line++;
                        endOfRecord = true;
                    }
                }

                if (problem is not null)
                {
                    errors.Add(new FieldError(Line(start), problem));
                }

                records.Add(new CsvRecord(start, fields, problem is not null));
            }

            // Editors and exporters often end a file with empty lines; they carry no rows. Only when nothing but
            // blank lines follows: reading may have stopped at the row limit with more rows still to come.
            var atEnd = csv.AsSpan(Math.Min(i, csv.Length)).IsWhiteSpace();
            while (atEnd && records.Count > 0 && records[^1].IsBlank)
            {
                records.RemoveAt(records.Count - 1);
            }

            return records;
        }
    }
}
