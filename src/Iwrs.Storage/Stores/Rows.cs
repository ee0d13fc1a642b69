using Azure;
using Azure.Data.Tables;

namespace Iwrs.Storage.Stores;

/// <summary>
/// The few ways the stores touch rows: a new row with validated keys, a property set that drops nulls, a point
/// read where "not there" is a value, and key-range reads. Filters are built only by
/// <see cref="TableClient.CreateQueryFilter(FormattableString)"/>, which escapes every argument by its type.
/// </summary>
public static class Rows
{
    /// <summary>The service returns at most 1,000 entities per page.</summary>
    public const int MaxPageSize = 1000;

    /// <summary>A row to write; its keys are checked here, before anything is sent.</summary>
    public static TableEntity New(string partitionKey, string rowKey)
    {
        TableKeys.Validate(partitionKey, nameof(partitionKey));
        TableKeys.Validate(rowKey, nameof(rowKey));
        return new TableEntity(partitionKey, rowKey);
    }

    /// <summary>Sets a property; null leaves it out (a replace then drops it), as an absent value is stored.</summary>
    public static TableEntity Set(this TableEntity entity, string name, object? value)
    {
        ArgumentNullException.ThrowIfNull(entity);
        if (value is null)
        {
            entity.Remove(name);
        }
        else
        {
            entity[name] = value;
        }

        return entity;
    }

    /// <summary>A point read: null when the row does not exist.</summary>
    public static async Task<TableEntity?> GetRowAsync(this TableClient table, string partitionKey, string rowKey, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(table);
        TableKeys.Validate(partitionKey, nameof(partitionKey));
        TableKeys.Validate(rowKey, nameof(rowKey));
        var response = await table.GetEntityIfExistsAsync<TableEntity>(partitionKey, rowKey, cancellationToken: ct);
        return response.HasValue ? response.Value : null;
    }

    /// <summary>The ETag a row was read with, as the stores keep it.</summary>
    public static string Tag(this TableEntity entity) => entity.ETag.ToString();

    /// <summary>
    /// Rows of one partition whose RowKey starts with <paramref name="prefix"/>, as the range the service serves from
    /// its index: <c>RowKey ge 'p' and RowKey lt 'q'</c>, q being p with its last character incremented.
    /// </summary>
    public static string PrefixFilter(string partitionKey, string prefix)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        TableKeys.Validate(partitionKey, nameof(partitionKey));
        var upper = PrefixUpperBound(prefix);
        return upper is null
            ? TableClient.CreateQueryFilter($"PartitionKey eq {partitionKey} and RowKey ge {prefix}")
            : TableClient.CreateQueryFilter($"PartitionKey eq {partitionKey} and RowKey ge {prefix} and RowKey lt {upper}");
    }

    /// <summary>Every row under a prefix, page after page (the SDK follows continuations, even after an empty page).</summary>
    public static AsyncPageable<TableEntity> QueryPrefixAsync(this TableClient table, string partitionKey, string prefix, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(table);
        return table.QueryAsync<TableEntity>(PrefixFilter(partitionKey, prefix), cancellationToken: ct);
    }

    /// <summary>
    /// At most <paramref name="count"/> rows matching <paramref name="filter"/>, in key order: pages of at most what is
    /// still wanted, for as long as the service has more (it may return fewer rows than asked).
    /// </summary>
    public static async Task<IReadOnlyList<TableEntity>> FirstAsync(this TableClient table, string filter, int count, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(table);
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        var result = new List<TableEntity>(Math.Min(count, MaxPageSize));
        await foreach (var row in table.QueryAsync<TableEntity>(filter, maxPerPage: Math.Min(count, MaxPageSize), cancellationToken: ct))
        {
            result.Add(row);
            if (result.Count == count)
            {
                break;
            }
        }

        return result;
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
