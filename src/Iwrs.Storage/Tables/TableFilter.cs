using System.Buffers;
using System.Globalization;

namespace Iwrs.Storage.Tables;

/// <summary>
/// The one way an OData <c>$filter</c> is built (https://learn.microsoft.com/rest/api/storageservices/querying-tables-and-entities#supported-comparison-operators).
/// The format string is the query's fixed text and is not escaped; every interpolated argument is turned into a
/// literal by its type, so a value can never change the query's shape (<c>' or true or '</c> stays a string):
/// string → <c>'…'</c> with quotes doubled; int → <c>123</c>; long → <c>123L</c>; bool → <c>true</c>;
/// double → round-trip invariant form; Guid → <c>guid'…'</c>; DateTimeOffset/DateTime → <c>datetime'…Z'</c>;
/// byte[] → <c>X'hex'</c>. Null and any other type throw, as do format specifiers (<c>{x:N2}</c>), which would
/// bypass the type's literal form.
/// </summary>
public readonly struct TableFilter : IEquatable<TableFilter>
{
    private static readonly SearchValues<char> DoubleMarkers = SearchValues.Create(".Ee");
    private static readonly SearchValues<char> Digits = SearchValues.Create("0123456789");

    private readonly string? _text;

    private TableFilter(string text) => _text = text;

    /// <summary>The filter expression, not yet URL-encoded. Empty for <c>default</c>, which matches everything.</summary>
    public string Text => _text ?? string.Empty;

    public bool IsEmpty => string.IsNullOrEmpty(_text);

    public static TableFilter Create(FormattableString filter)
    {
        ArgumentNullException.ThrowIfNull(filter);
        RejectFormatSpecifiers(filter.Format);
        var arguments = filter.GetArguments();
        var literals = new object[arguments.Length];
        for (var i = 0; i < arguments.Length; i++)
        {
            literals[i] = Literal(arguments[i]);
        }

        return new TableFilter(string.Format(CultureInfo.InvariantCulture, filter.Format, literals));
    }

    /// <summary><c>PartitionKey eq '…'</c>.</summary>
    public static TableFilter PartitionKeyEquals(string partitionKey) =>
        Create($"PartitionKey eq {partitionKey}");

    /// <summary>
    /// Rows of one partition whose RowKey starts with <paramref name="prefix"/>, as the range the service can serve
    /// from its index: <c>RowKey ge 'p' and RowKey lt 'q'</c>, q being p with its last character incremented.
    /// </summary>
    public static TableFilter RowKeyPrefix(string partitionKey, string prefix)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        var upper = PrefixUpperBound(prefix);
        if (upper is null)
        {
            // An empty prefix (or one of only U+FFFF) has no upper bound: it is the whole partition from 'prefix' on.
            return prefix.Length == 0
                ? PartitionKeyEquals(partitionKey)
                : Create($"PartitionKey eq {partitionKey} and RowKey ge {prefix}");
        }

        return Create($"PartitionKey eq {partitionKey} and RowKey ge {prefix} and RowKey lt {upper}");
    }

    public TableFilter And(TableFilter other) => Combine(this, "and", other);

    public TableFilter Or(TableFilter other) => Combine(this, "or", other);

    public static TableFilter Not(TableFilter filter) =>
        filter.IsEmpty
            ? throw new ArgumentException("Cannot negate an empty filter.", nameof(filter))
            : new TableFilter($"not ({filter.Text})");

    public override string ToString() => Text;

    public bool Equals(TableFilter other) => string.Equals(Text, other.Text, StringComparison.Ordinal);

    public override bool Equals(object? obj) => obj is TableFilter other && Equals(other);

    public override int GetHashCode() => StringComparer.Ordinal.GetHashCode(Text);

    public static bool operator ==(TableFilter left, TableFilter right) => left.Equals(right);

    public static bool operator !=(TableFilter left, TableFilter right) => !left.Equals(right);

    /// <summary>The literal for one argument; internal so tests can pin every type's form.</summary>
    internal static string Literal(object? value) => value switch
    {
        null => throw new ArgumentException("A filter argument must not be null; Table storage has no null comparison.", nameof(value)),
        string s => "'" + s.Replace("'", "''", StringComparison.Ordinal) + "'",
        bool b => b ? "true" : "false",
        int i => i.ToString(CultureInfo.InvariantCulture),
        long l => l.ToString(CultureInfo.InvariantCulture) + "L",
        double d => DoubleLiteral(d),
        Guid g => "guid'" + g.ToString("D") + "'",
        DateTimeOffset dto => DateTimeLiteral(dto.UtcDateTime),
        DateTime { Kind: DateTimeKind.Utc } dt => DateTimeLiteral(dt),
        DateTime { Kind: DateTimeKind.Local } dt => DateTimeLiteral(dt.ToUniversalTime()),
        DateTime => throw new ArgumentException(
            "A DateTime with Kind=Unspecified is ambiguous in a filter; pass a DateTimeOffset or a UTC DateTime.", nameof(value)),
        byte[] bytes => "X'" + Convert.ToHexStringLower(bytes) + "'",
        _ => throw new ArgumentException(
            $"Type {value.GetType().Name} cannot be a filter argument; use string, int, long, bool, double, Guid, DateTimeOffset, DateTime or byte[].",
            nameof(value)),
    };

    private static string DoubleLiteral(double d)
    {
        if (!double.IsFinite(d))
        {
            throw new ArgumentException("NaN and infinities cannot be filter arguments.", nameof(d));
        }

        var text = d.ToString("R", CultureInfo.InvariantCulture);

        // "2" would be read as an Int32 literal; keep it a double.
        return text.AsSpan().IndexOfAny(DoubleMarkers) >= 0 ? text : text + ".0";
    }

    private static string DateTimeLiteral(DateTime utc) =>
        "datetime'" + utc.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture) + "'";

    private static TableFilter Combine(TableFilter left, string op, TableFilter right)
    {
        if (left.IsEmpty)
        {
            return right;
        }

        return right.IsEmpty ? left : new TableFilter($"({left.Text}) {op} ({right.Text})");
    }

    private static void RejectFormatSpecifiers(string format)
    {
        for (var i = 0; i < format.Length; i++)
        {
            if (format[i] != '{')
            {
                continue;
            }

            if (i + 1 < format.Length && format[i + 1] == '{')
            {
                i++;
                continue;
            }

            var end = format.IndexOf('}', i);
            if (end < 0 || end == i + 1 || format.AsSpan(i + 1, end - i - 1).ContainsAnyExcept(Digits))
            {
                throw new ArgumentException(
                    "Filter arguments must not have alignment or format specifiers: the argument's type decides its literal.",
                    nameof(format));
            }

            i = end;
        }
    }

    /// <summary>The smallest string greater than every string starting with <paramref name="prefix"/>, or null if none.</summary>
    private static string? PrefixUpperBound(string prefix)
    {
        var chars = prefix.ToCharArray();
        for (var i = chars.Length - 1; i >= 0; i--)
        {
            if (chars[i] != char.MaxValue)
            {
                chars[i]++;
                return new string(chars, 0, i + 1);
            }
        }

        return null;
    }
}
