using System.Globalization;

namespace Iwrs.Storage;

/// <summary>
/// Key and name rules from "Understanding the Table service data model"
/// (https://learn.microsoft.com/rest/api/storageservices/understanding-the-table-service-data-model#characters-disallowed-in-key-fields).
/// Checked before anything is sent, so a bad key is a programming error at the call site rather than a 400 later.
/// </summary>
public static class TableKeys
{
    /// <summary>The service caps keys at 1 KiB; we count UTF-16 chars, which is at least as strict for ASCII keys.</summary>
    public const int MaxKeyLength = 1024;

    /// <summary>
    /// Throws <see cref="ArgumentException"/> unless <paramref name="key"/> is usable as a PartitionKey or RowKey:
    /// not empty (the service allows an empty RowKey, but an empty key is always a bug here), at most 1,024 chars,
    /// no <c>/ \ # ?</c>, no control characters U+0000-U+001F or U+007F-U+009F, and no unpaired surrogates
    /// (they cannot be encoded in the URL).
    /// </summary>
    public static void Validate(string key, string paramName)
    {
        ArgumentNullException.ThrowIfNull(key, paramName);
        if (key.Length == 0)
        {
            throw new ArgumentException("A table key must not be empty.", paramName);
        }

        if (key.Length > MaxKeyLength)
        {
            throw new ArgumentException(
                $"A table key must be at most {MaxKeyLength} characters; this one has {key.Length}.", paramName);
        }

        for (var i = 0; i < key.Length; i++)
        {
            var c = key[i];
            if (c is '/' or '\\' or '#' or '?' || c <= '\u001F' || c is >= '\u007F' and <= '\u009F')
            {
                throw new ArgumentException(
                    $"A table key must not contain '/', '\\', '#', '?' or control characters; found U+{(int)c:X4} at position {i}.",
                    paramName);
            }

            if (char.IsHighSurrogate(c) && i + 1 < key.Length && char.IsLowSurrogate(key[i + 1]))
            {
                i++;
                continue;
            }

            if (char.IsSurrogate(c))
            {
                throw new ArgumentException(
                    string.Create(CultureInfo.InvariantCulture, $"A table key must be valid UTF-16; found an unpaired surrogate at position {i}."),
                    paramName);
            }
        }
    }

    /// <summary>
    /// Table names: 3-63 chars, letters and digits, starting with a letter, and not the reserved name "tables"
    /// (https://learn.microsoft.com/rest/api/storageservices/understanding-the-table-service-data-model#table-names).
    /// </summary>
    public static void ValidateTableName(string tableName, string paramName)
    {
        ArgumentNullException.ThrowIfNull(tableName, paramName);
        var ok = tableName.Length is >= 3 and <= 63
                 && char.IsAsciiLetter(tableName[0])
                 && tableName.All(char.IsAsciiLetterOrDigit)
                 && !string.Equals(tableName, "tables", StringComparison.OrdinalIgnoreCase);
        if (!ok)
        {
            throw new ArgumentException(
                "A table name must be 3-63 ASCII letters or digits, start with a letter, and not be 'tables'.", paramName);
        }
    }
}
