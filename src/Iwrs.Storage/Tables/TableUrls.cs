namespace Iwrs.Storage.Tables;

/// <summary>
/// Resource URLs (https://learn.microsoft.com/rest/api/storageservices/addressing-table-service-resources).
/// A key goes into <c>(PartitionKey='…',RowKey='…')</c> as an OData string literal, so single quotes are doubled first,
/// and the literal is then percent-encoded as UTF-8 so spaces, '%', '+' and non-ASCII survive the trip
/// (https://learn.microsoft.com/rest/api/storageservices/query-entities#sample-request).
/// </summary>
internal static class TableUrls
{
    public static string Table(string baseUrl, string table) => baseUrl + "/" + table;

    public static string Entity(string baseUrl, string table, string partitionKey, string rowKey) =>
        baseUrl + "/" + table + "(PartitionKey='" + EscapeKey(partitionKey) + "',RowKey='" + EscapeKey(rowKey) + "')";

    public static string EscapeKey(string key) =>
        Uri.EscapeDataString(key.Replace("'", "''", StringComparison.Ordinal));

    /// <summary>
    /// Query string from name/value pairs. Values are percent-encoded; names are our own constants and go out as
    /// written (<c>$filter</c>, not <c>%24filter</c>), the way the REST documentation shows them.
    /// </summary>
    public static string Query(IEnumerable<KeyValuePair<string, string?>> parameters)
    {
        var parts = parameters
            .Where(p => p.Value is not null)
            .Select(p => p.Key + "=" + Uri.EscapeDataString(p.Value!))
            .ToList();
        return parts.Count == 0 ? string.Empty : "?" + string.Join("&", parts);
    }

    /// <summary>
    /// <c>$select</c> value. PartitionKey and RowKey are always included: an entity without its keys could not be
    /// updated or deleted, and the service returns only what is selected.
    /// </summary>
    public static string? Select(IReadOnlyList<string>? select)
    {
        if (select is null)
        {
            return null;
        }

        if (select.Count == 0)
        {
            throw new ArgumentException("select must name at least one property, or be null for all.", nameof(select));
        }

        var names = new List<string> { "PartitionKey", "RowKey" };
        foreach (var name in select)
        {
            if (!TableEntity.IsSystemName(name))
            {
                TableKeys.ValidatePropertyName(name, nameof(select));
            }

            if (!names.Contains(name, StringComparer.Ordinal))
            {
                names.Add(name);
            }
        }

        return string.Join(",", names);
    }
}
