using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace Iwrs.Storage.Tables;

/// <summary>
/// Entity-group transactions (https://learn.microsoft.com/rest/api/storageservices/performing-entity-group-transactions):
/// the request is <c>multipart/mixed; boundary=batch_{guid}</c> wrapping one <c>changeset_{guid}</c> whose parts are
/// whole HTTP requests (<c>Content-Type: application/http</c>, <c>Content-Transfer-Encoding: binary</c>) with absolute
/// URLs and CRLF line endings, each JSON body on one line (the emulator's parser needs that). The answer mirrors it,
/// and is 202 even when an operation failed: then the changeset holds the failing operation's real status and an
/// <c>odata.error</c> whose message starts with the operation's 0-based index ("1:The update condition…"), and none of
/// the changeset was applied.
/// </summary>
internal static partial class TableBatch
{
    /// <summary>Service limits: 100 operations and 4 MiB of payload per transaction.</summary>
    public const int MaxActions = 100;

    public const int MaxBodyBytes = 4 * 1024 * 1024;

    private const string Crlf = "\r\n";

    /// <summary>Checks the rules the service would otherwise refuse the whole batch for, before anything is sent.</summary>
    public static void Validate(IReadOnlyList<TableTransactionAction> actions)
    {
        ArgumentNullException.ThrowIfNull(actions);
        if (actions.Count is 0 or > MaxActions)
        {
            throw new ArgumentException(
                $"A transaction holds 1 to {MaxActions} actions; this one has {actions.Count}.", nameof(actions));
        }

        var seen = new HashSet<string>(StringComparer.Ordinal);
        string? partitionKey = null;
        for (var i = 0; i < actions.Count; i++)
        {
            var action = actions[i] ?? throw new ArgumentException($"Action {i} is null.", nameof(actions));
            var entity = action.Entity ?? throw new ArgumentException($"Action {i} has no entity.", nameof(actions));
            TableKeys.Validate(entity.PartitionKey, $"{nameof(actions)}[{i}].PartitionKey");
            TableKeys.Validate(entity.RowKey, $"{nameof(actions)}[{i}].RowKey");
            partitionKey ??= entity.PartitionKey;
            if (!string.Equals(partitionKey, entity.PartitionKey, StringComparison.Ordinal))
            {
                throw new ArgumentException(
                    $"All actions of a transaction must share one PartitionKey; action {i} differs from action 0.", nameof(actions));
            }

            if (!seen.Add(entity.RowKey))
            {
                throw new ArgumentException(
                    $"An entity may appear only once in a transaction; action {i} repeats an earlier RowKey.", nameof(actions));
            }

            if (!Enum.IsDefined(action.Type))
            {
                throw new ArgumentException($"Action {i} has an unknown type.", nameof(actions));
            }

            var needsETag = action.Type is TableTransactionActionType.UpdateReplace or TableTransactionActionType.UpdateMerge
                or TableTransactionActionType.Delete;
            if (needsETag)
            {
                if (action.IfMatch is not { } ifMatch)
                {
                    throw new ArgumentException(
                        $"Action {i} ({action.Type}) needs IfMatch; pass TableETag.All for an unconditional write.", nameof(actions));
                }

                ifMatch.RequireValue(nameof(actions));
            }
            else if (action.IfMatch is not null)
            {
                throw new ArgumentException(
                    $"Action {i} ({action.Type}) must not have IfMatch; an upsert or insert is unconditional, use an Update action for a conditional write.",
                    nameof(actions));
            }
        }
    }

    public static (byte[] Body, string ContentType) Build(
        string baseUrl, string table, IReadOnlyList<TableTransactionAction> actions, Guid batchId, Guid changesetId)
    {
        var batchBoundary = "batch_" + batchId.ToString("D");
        var changesetBoundary = "changeset_" + changesetId.ToString("D");
        var sb = new StringBuilder();
        sb.Append("--").Append(batchBoundary).Append(Crlf)
            .Append("Content-Type: multipart/mixed; boundary=").Append(changesetBoundary).Append(Crlf)
            .Append(Crlf);

        foreach (var action in actions)
        {
            var entity = action.Entity;
            var (method, url) = action.Type switch
            {
                TableTransactionActionType.Insert => ("POST", TableUrls.Table(baseUrl, table)),
                TableTransactionActionType.UpsertReplace or TableTransactionActionType.UpdateReplace =>
                    ("PUT", TableUrls.Entity(baseUrl, table, entity.PartitionKey, entity.RowKey)),
                TableTransactionActionType.UpsertMerge or TableTransactionActionType.UpdateMerge =>
                    ("MERGE", TableUrls.Entity(baseUrl, table, entity.PartitionKey, entity.RowKey)),
                _ => ("DELETE", TableUrls.Entity(baseUrl, table, entity.PartitionKey, entity.RowKey)),
            };

            sb.Append("--").Append(changesetBoundary).Append(Crlf)
                .Append("Content-Type: application/http").Append(Crlf)
                .Append("Content-Transfer-Encoding: binary").Append(Crlf)
                .Append(Crlf)
                .Append(method).Append(' ').Append(url).Append(" HTTP/1.1").Append(Crlf)
                .Append("Accept: ").Append(TableTransport.NoMetadata).Append(Crlf);

            var hasBody = action.Type != TableTransactionActionType.Delete;
            if (hasBody)
            {
                sb.Append("Content-Type: application/json").Append(Crlf);
            }

            if (action.Type == TableTransactionActionType.Insert)
            {
                sb.Append("Prefer: return-no-content").Append(Crlf);
            }

            if (action.IfMatch is { } ifMatch)
            {
                sb.Append("If-Match: ").Append(ifMatch.Value).Append(Crlf);
            }

            sb.Append("DataServiceVersion: 3.0;").Append(Crlf)
                .Append(Crlf);
            if (hasBody)
            {
                // Utf8JsonWriter escapes control characters and non-ASCII, so the body is one ASCII line.
                sb.Append(Encoding.UTF8.GetString(EntityJson.Serialize(entity))).Append(Crlf);
            }
        }

        sb.Append("--").Append(changesetBoundary).Append("--").Append(Crlf)
            .Append(Crlf)
            .Append("--").Append(batchBoundary).Append("--").Append(Crlf);

        var body = Encoding.UTF8.GetBytes(sb.ToString());
        if (body.Length > MaxBodyBytes)
        {
            throw new ArgumentException(
                string.Create(CultureInfo.InvariantCulture, $"A transaction's payload may be at most 4 MiB; this one is {body.Length} bytes."),
                nameof(actions));
        }

        return (body, "multipart/mixed; boundary=" + batchBoundary);
    }

    /// <summary>The ETag of every action in order ("" for deletes), or throws <see cref="TableTransactionFailedException"/>.</summary>
    public static IReadOnlyList<string> ParseResponse(TableResponse response, IReadOnlyList<TableTransactionAction> actions, string table)
    {
        var operation = $"Transaction on table '{table}'";
        if (response.Status != 202)
        {
            // The whole batch was refused before any operation ran (bad format, missing table, auth).
            var (code, message) = TableErrors.Parse(response.Headers, response.BodyText);
            var index = IndexFromMessage(message, actions.Count) ?? (actions.Count == 1 ? 0 : -1);
            throw Failed(operation, actions, index, response.Status, code, message);
        }

        var parts = ReadParts(response);
        for (var i = 0; i < parts.Count; i++)
        {
            var part = parts[i];
            if (part.Status is >= 200 and <= 299)
            {
                continue;
            }

            var (code, message) = TableErrors.Parse(part.Headers, part.Body);
            var index = IndexFromMessage(message, actions.Count)
                        ?? (actions.Count == 1 ? 0 : parts.Count == actions.Count ? i : -1);
            throw Failed(operation, actions, index, part.Status, code, message);
        }

        if (parts.Count != actions.Count)
        {
            throw new TableStorageException(
                string.Create(CultureInfo.InvariantCulture, $"{operation} answered with {parts.Count} results for {actions.Count} actions."));
        }

        return parts
            .Select((p, i) => actions[i].Type == TableTransactionActionType.Delete ? string.Empty : p.Headers.GetValueOrDefault("ETag") ?? string.Empty)
            .ToList();
    }

    private static TableTransactionFailedException Failed(
        string operation, IReadOnlyList<TableTransactionAction> actions, int index, int status, string? code, string? message)
    {
        var what = index >= 0
            ? string.Create(CultureInfo.InvariantCulture, $"{operation}, action {index} ({actions[index].Type}),")
            : operation;
        return new TableTransactionFailedException(TableErrors.Describe(what, status, code, message) + " Nothing was applied.", index, status, code);
    }

    /// <summary>The service puts the failing operation's 0-based index in front of the message: "1:The update…".</summary>
    internal static int? IndexFromMessage(string? message, int actionCount)
    {
        if (message is null)
        {
            return null;
        }

        var match = IndexPrefix().Match(message);
        return match.Success
               && int.TryParse(match.Groups[1].ValueSpan, NumberStyles.None, CultureInfo.InvariantCulture, out var index)
               && index < actionCount
            ? index
            : null;
    }

    [GeneratedRegex(@"^\s*(\d{1,3}):")]
    private static partial Regex IndexPrefix();

    internal sealed record HttpPart(int Status, IReadOnlyDictionary<string, string> Headers, string Body);

    /// <summary>The HTTP responses inside the batch answer, unwrapping the changeset (and tolerating its absence).</summary>
    internal static List<HttpPart> ReadParts(TableResponse response)
    {
        var boundary = Boundary(response.Header("Content-Type"))
                       ?? throw new TableStorageException("The transaction's answer is not multipart/mixed.", response.Status, null);
        var result = new List<HttpPart>();
        Collect(response.BodyText, boundary, result, depth: 0);
        return result;
    }

    private static void Collect(string text, string boundary, List<HttpPart> result, int depth)
    {
        foreach (var part in SplitMultipart(text, boundary))
        {
            var (headers, content) = ReadHeaders(part);
            var contentType = headers.GetValueOrDefault("Content-Type") ?? string.Empty;
            if (contentType.StartsWith("multipart/mixed", StringComparison.OrdinalIgnoreCase) && depth == 0
                && Boundary(contentType) is { } inner)
            {
                Collect(content, inner, result, depth + 1);
            }
            else if (contentType.StartsWith("application/http", StringComparison.OrdinalIgnoreCase))
            {
                result.Add(ParseHttpResponse(content));
            }
        }
    }

    internal static string? Boundary(string? contentType)
    {
        if (contentType is null)
        {
            return null;
        }

        foreach (var parameter in contentType.Split(';', StringSplitOptions.TrimEntries))
        {
            if (parameter.StartsWith("boundary=", StringComparison.OrdinalIgnoreCase))
            {
                return parameter["boundary=".Length..].Trim('"');
            }
        }

        return null;
    }

    /// <summary>
    /// RFC 2046 body parts: the text between delimiter lines ("--boundary" at the start of a line), without the line
    /// break that belongs to the next delimiter. Stops at the close delimiter "--boundary--". Accepts LF or CRLF.
    /// </summary>
    internal static List<string> SplitMultipart(string text, string boundary)
    {
        var delimiter = "--" + boundary;
        var parts = new List<string>();
        var at = DelimiterAt(text, delimiter, 0);
        while (at >= 0)
        {
            var after = at + delimiter.Length;
            if (string.CompareOrdinal(text, after, "--", 0, 2) == 0)
            {
                break;
            }

            var lineEnd = text.IndexOf('\n', after);
            if (lineEnd < 0)
            {
                break;
            }

            var start = lineEnd + 1;
            var next = DelimiterAt(text, delimiter, start);
            var end = next < 0 ? text.Length : next;
            if (end > start && text[end - 1] == '\n')
            {
                end--;
            }

            if (end > start && text[end - 1] == '\r')
            {
                end--;
            }

            parts.Add(text[start..end]);
            at = next;
        }

        return parts;
    }

    private static int DelimiterAt(string text, string delimiter, int from)
    {
        var at = text.IndexOf(delimiter, from, StringComparison.Ordinal);
        while (at > 0 && text[at - 1] != '\n')
        {
            at = text.IndexOf(delimiter, at + 1, StringComparison.Ordinal);
        }

        return at;
    }

    private static (Dictionary<string, string> Headers, string Remainder) ReadHeaders(string text)
    {
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        var pos = 0;
        while (pos < text.Length)
        {
            var newline = text.IndexOf('\n', pos);
            var line = (newline < 0 ? text[pos..] : text[pos..newline]).TrimEnd('\r');
            pos = newline < 0 ? text.Length : newline + 1;
            if (line.Length == 0)
            {
                break;
            }

            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon > 0)
            {
                headers[line[..colon].Trim()] = line[(colon + 1)..].Trim();
            }
        }

        return (headers, text[pos..]);
    }

    private static HttpPart ParseHttpResponse(string message)
    {
        var text = message.TrimStart('\r', '\n');
        var newline = text.IndexOf('\n', StringComparison.Ordinal);
        var statusLine = (newline < 0 ? text : text[..newline]).TrimEnd('\r');

        // "HTTP/1.1 412 Precondition Failed"
        var fields = statusLine.Split(' ', 3, StringSplitOptions.RemoveEmptyEntries);
        if (fields.Length < 2 || !fields[0].StartsWith("HTTP/", StringComparison.Ordinal)
            || !int.TryParse(fields[1], NumberStyles.None, CultureInfo.InvariantCulture, out var status))
        {
            throw new TableStorageException("The transaction's answer holds a part that is not an HTTP response.");
        }

        var (headers, body) = ReadHeaders(newline < 0 ? string.Empty : text[(newline + 1)..]);
        return new HttpPart(status, headers, body.Trim());
    }
}
