using System.Net;
using System.Text;
using Iwrs.Storage.Tables;

namespace Iwrs.Storage.Tests.Tables;

/// <summary>The $batch request format, its validation, and reading canned answers.</summary>
public sealed class TableBatchTests
{
    private const string Base = "http://127.0.0.1:10002/devstoreaccount1";
    private static readonly Guid BatchId = Guid.Parse("11111111-1111-1111-1111-111111111111");
    private static readonly Guid ChangesetId = Guid.Parse("22222222-2222-2222-2222-222222222222");

    private static List<TableTransactionAction> ThreeActions() =>
    [
        new(TableTransactionActionType.Insert, new TableEntity("p", "a").Set("V", 1L)),
        new(TableTransactionActionType.UpdateMerge, new TableEntity("p", "O'B ü").Set("V", 2), new TableETag("W/\"datetime'x'\"")),
        new(TableTransactionActionType.Delete, new TableEntity("p", "c"), TableETag.All),
    ];

    [Fact]
    public void Build_InsertUpdateDelete_MatchesTheDocumentedLayoutExactly()
    {
        var (body, contentType) = TableBatch.Build(Base, "mytable", ThreeActions(), BatchId, ChangesetId);

        const string expected =
            "--batch_11111111-1111-1111-1111-111111111111\r\n" +
            "Content-Type: multipart/mixed; boundary=changeset_22222222-2222-2222-2222-222222222222\r\n" +
            "\r\n" +
            "--changeset_22222222-2222-2222-2222-222222222222\r\n" +
            "Content-Type: application/http\r\n" +
            "Content-Transfer-Encoding: binary\r\n" +
            "\r\n" +
            "POST http://127.0.0.1:10002/devstoreaccount1/mytable HTTP/1.1\r\n" +
            "Accept: application/json;odata=nometadata\r\n" +
            "Content-Type: application/json\r\n" +
            "Prefer: return-no-content\r\n" +
            "DataServiceVersion: 3.0;\r\n" +
            "\r\n" +
            "{\"PartitionKey\":\"p\",\"RowKey\":\"a\",\"V@odata.type\":\"Edm.Int64\",\"V\":\"1\"}\r\n" +
            "--changeset_22222222-2222-2222-2222-222222222222\r\n" +
            "Content-Type: application/http\r\n" +
            "Content-Transfer-Encoding: binary\r\n" +
            "\r\n" +
            "MERGE http://127.0.0.1:10002/devstoreaccount1/mytable(PartitionKey='p',RowKey='O%27%27B%20%C3%BC') HTTP/1.1\r\n" +
            "Accept: application/json;odata=nometadata\r\n" +
            "Content-Type: application/json\r\n" +
            "If-Match: W/\"datetime'x'\"\r\n" +
            "DataServiceVersion: 3.0;\r\n" +
            "\r\n" +
            "{\"PartitionKey\":\"p\",\"RowKey\":\"O\\u0027B \\u00FC\",\"V\":2}\r\n" +
            "--changeset_22222222-2222-2222-2222-222222222222\r\n" +
            "Content-Type: application/http\r\n" +
            "Content-Transfer-Encoding: binary\r\n" +
            "\r\n" +
            "DELETE http://127.0.0.1:10002/devstoreaccount1/mytable(PartitionKey='p',RowKey='c') HTTP/1.1\r\n" +
            "Accept: application/json;odata=nometadata\r\n" +
            "If-Match: *\r\n" +
            "DataServiceVersion: 3.0;\r\n" +
            "\r\n" +
            "--changeset_22222222-2222-2222-2222-222222222222--\r\n" +
            "\r\n" +
            "--batch_11111111-1111-1111-1111-111111111111--\r\n";
        Assert.Equal(expected, Encoding.UTF8.GetString(body));
        Assert.Equal("multipart/mixed; boundary=batch_11111111-1111-1111-1111-111111111111", contentType);
    }

    [Theory]
    [InlineData(TableTransactionActionType.UpsertReplace, "PUT", false)]
    [InlineData(TableTransactionActionType.UpsertMerge, "MERGE", false)]
    [InlineData(TableTransactionActionType.UpdateReplace, "PUT", true)]
    [InlineData(TableTransactionActionType.UpdateMerge, "MERGE", true)]
    public void Build_WriteKinds_MethodAndIfMatchPerKind(TableTransactionActionType type, string method, bool hasIfMatch)
    {
        TableETag? etag = hasIfMatch ? new TableETag("W/\"e\"") : null;
        var (body, _) = TableBatch.Build(Base, "mytable", [new(type, new TableEntity("p", "r"), etag)], BatchId, ChangesetId);
        var text = Encoding.UTF8.GetString(body);

        Assert.Contains($"\r\n{method} {Base}/mytable(PartitionKey='p',RowKey='r') HTTP/1.1\r\n", text, StringComparison.Ordinal);
        Assert.Equal(hasIfMatch, text.Contains("If-Match: W/\"e\"\r\n", StringComparison.Ordinal));
        Assert.DoesNotContain("Prefer:", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Build_AnyBatch_UsesOnlyCrlfLineEndings()
    {
        var (body, _) = TableBatch.Build(Base, "mytable", ThreeActions(), Guid.NewGuid(), Guid.NewGuid());
        var text = Encoding.UTF8.GetString(body);

        for (var i = 0; i < text.Length; i++)
        {
            if (text[i] == '\n')
            {
                Assert.True(i > 0 && text[i - 1] == '\r', $"bare LF at {i}");
            }
        }
    }

    public static TheoryData<string, List<TableTransactionAction>> InvalidBatches => new()
    {
        { "empty", [] },
        {
            "101 actions", Enumerable.Range(0, 101)
                .Select(i => new TableTransactionAction(TableTransactionActionType.Insert, new TableEntity("p", $"r{i}"))).ToList()
        },
        {
            "two partitions",
            [
                new(TableTransactionActionType.Insert, new TableEntity("p", "a")),
                new(TableTransactionActionType.Insert, new TableEntity("q", "b")),
            ]
        },
        {
            "same entity twice",
            [
                new(TableTransactionActionType.Insert, new TableEntity("p", "a")),
                new(TableTransactionActionType.Delete, new TableEntity("p", "a"), TableETag.All),
            ]
        },
        { "update without IfMatch", [new(TableTransactionActionType.UpdateReplace, new TableEntity("p", "a"))] },
        { "delete without IfMatch", [new(TableTransactionActionType.Delete, new TableEntity("p", "a"))] },
        { "delete with default ETag", [new(TableTransactionActionType.Delete, new TableEntity("p", "a"), default(TableETag))] },
        { "upsert with IfMatch", [new(TableTransactionActionType.UpsertMerge, new TableEntity("p", "a"), TableETag.All)] },
        { "insert with IfMatch", [new(TableTransactionActionType.Insert, new TableEntity("p", "a"), TableETag.All)] },
        { "bad key", [new(TableTransactionActionType.Insert, new TableEntity("p", "a#b"))] },
        { "unknown type", [new((TableTransactionActionType)42, new TableEntity("p", "a"))] },
    };

    [Theory]
    [MemberData(nameof(InvalidBatches))]
    public async Task SubmitTransaction_InvalidBatch_ThrowsBeforeSending(string because, List<TableTransactionAction> actions)
    {
        var handler = new StubHttpHandler();

        await Assert.ThrowsAsync<ArgumentException>(() => TestClients.StubTable(handler).SubmitTransactionAsync(actions));

        Assert.True(handler.Requests.Count == 0, because);
    }

    [Fact]
    public async Task SubmitTransaction_PayloadOver4MiB_ThrowsBeforeSending()
    {
        var handler = new StubHttpHandler();
        var big = new string('x', 50_000);
        var actions = Enumerable.Range(0, 100)
            .Select(i => new TableTransactionAction(TableTransactionActionType.Insert, new TableEntity("p", $"r{i}").Set("Big", big)))
            .ToList();

        var ex = await Assert.ThrowsAsync<ArgumentException>(() => TestClients.StubTable(handler).SubmitTransactionAsync(actions));

        Assert.Contains("4 MiB", ex.Message, StringComparison.Ordinal);
        Assert.Empty(handler.Requests);
    }

    [Fact]
    public async Task SubmitTransaction_Success_PostsToBatchAndReturnsETagsInOrder()
    {
        var handler = new StubHttpHandler().Answer((request, _) => Task.FromResult(Multipart(request, SuccessBody)));

        var etags = await TestClients.StubTable(handler).SubmitTransactionAsync(ThreeActions());

        Assert.Equal(["W/\"datetime'2021-05-22T22%3A49%3A50.1Z'\"", "W/\"datetime'2021-05-22T22%3A49%3A50.2Z'\"", string.Empty], etags);
        var request = handler.Single();
        Assert.Equal("POST", request.Method);
        Assert.Equal(Base + "/$batch", request.Url);
        var boundary = TableBatch.Boundary(request.Header("Content-Type"));
        Assert.StartsWith("batch_", boundary, StringComparison.Ordinal);
        Assert.StartsWith("--" + boundary + "\r\n", request.BodyText, StringComparison.Ordinal);
        Assert.EndsWith("--" + boundary + "--\r\n", request.BodyText, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SubmitTransaction_FailedPart_ThrowsWithIndexStatusAndCode()
    {
        var handler = new StubHttpHandler().Answer((request, _) => Task.FromResult(Multipart(request, FailureBody(
            "HTTP/1.1 412 Precondition Failed",
            "{\"odata.error\":{\"code\":\"UpdateConditionNotSatisfied\",\"message\":{\"lang\":\"en-US\",\"value\":\"1:The update condition specified in the request was not satisfied.\\nRequestId:abc\\nTime:2021-05-22T22:49:50.0000000Z\"}}}"))));

        var ex = await Assert.ThrowsAsync<TableTransactionFailedException>(
            () => TestClients.StubTable(handler).SubmitTransactionAsync(ThreeActions()));

        Assert.Equal(1, ex.FailedActionIndex);
        Assert.Equal(412, ex.Status);
        Assert.Equal("UpdateConditionNotSatisfied", ex.ErrorCode);
        Assert.Contains("action 1 (UpdateMerge)", ex.Message, StringComparison.Ordinal);
        Assert.Contains("The update condition specified in the request was not satisfied.", ex.Message, StringComparison.Ordinal);
        Assert.Single(handler.Requests);
    }

    [Fact]
    public void ParseResponse_LfOnlyAndNoIndexInMessage_FallsBackToUnknownIndex()
    {
        var body = FailureBody("HTTP/1.1 409 Conflict", "{\"odata.error\":{\"code\":\"EntityAlreadyExists\",\"message\":{\"value\":\"The specified entity already exists.\"}}}")
            .Replace("\r\n", "\n", StringComparison.Ordinal);

        var ex = Assert.Throws<TableTransactionFailedException>(() => TableBatch.ParseResponse(Canned(202, body), ThreeActions(), "mytable"));

        Assert.Equal(-1, ex.FailedActionIndex);
        Assert.Equal(409, ex.Status);
        Assert.Equal("EntityAlreadyExists", ex.ErrorCode);
    }

    [Fact]
    public void ParseResponse_SingleActionWithoutIndex_BlamesThatAction()
    {
        var body = FailureBody("HTTP/1.1 404 Not Found", "{\"odata.error\":{\"code\":\"ResourceNotFound\",\"message\":{\"value\":\"The specified resource does not exist.\"}}}");
        List<TableTransactionAction> one = [new(TableTransactionActionType.Delete, new TableEntity("p", "a"), TableETag.All)];

        var ex = Assert.Throws<TableTransactionFailedException>(() => TableBatch.ParseResponse(Canned(202, body), one, "mytable"));

        Assert.Equal(0, ex.FailedActionIndex);
        Assert.Equal(404, ex.Status);
    }

    [Fact]
    public void ParseResponse_IndexOutOfRange_NotTrusted()
    {
        var body = FailureBody("HTTP/1.1 400 Bad Request", "{\"odata.error\":{\"code\":\"InvalidInput\",\"message\":{\"value\":\"7:Bad.\"}}}");

        var ex = Assert.Throws<TableTransactionFailedException>(() => TableBatch.ParseResponse(Canned(202, body), ThreeActions(), "mytable"));

        Assert.Equal(-1, ex.FailedActionIndex);
        Assert.Equal(400, ex.Status);
    }

    [Fact]
    public void ParseResponse_WholeBatchRefused_ThrowsTransactionFailed()
    {
        var response = new TableResponse(
            400,
            new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase) { ["x-ms-error-code"] = "InvalidInput" },
            Encoding.UTF8.GetBytes("{\"odata.error\":{\"code\":\"InvalidInput\",\"message\":{\"value\":\"2:One of the request inputs is not valid.\"}}}"),
            null, null);

        var ex = Assert.Throws<TableTransactionFailedException>(() => TableBatch.ParseResponse(response, ThreeActions(), "mytable"));

        Assert.Equal(2, ex.FailedActionIndex);
        Assert.Equal(400, ex.Status);
        Assert.Equal("InvalidInput", ex.ErrorCode);
    }

    [Fact]
    public void ParseResponse_FewerSuccessPartsThanActions_Throws()
    {
        var body = SuccessBody.Replace(
            "--changesetresponse_c\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\nHTTP/1.1 204 No Content\r\nDataServiceVersion: 1.0;\r\n\r\n",
            string.Empty, StringComparison.Ordinal);

        var ex = Assert.Throws<TableStorageException>(() => TableBatch.ParseResponse(Canned(202, body), ThreeActions(), "mytable"));

        Assert.IsNotType<TableTransactionFailedException>(ex);
    }

    [Theory]
    [InlineData("1:The update condition", 3, 1)]
    [InlineData("0:x", 1, 0)]
    [InlineData("99:x", 100, 99)]
    [InlineData("3:x", 3, null)]
    [InlineData("The update condition", 3, null)]
    [InlineData("x 1:y", 3, null)]
    public void IndexFromMessage_VariousMessages(string message, int count, int? expected)
    {
        Assert.Equal(expected, TableBatch.IndexFromMessage(message, count));
    }

    private const string SuccessBody =
        "--batchresponse_b\r\n" +
        "Content-Type: multipart/mixed; boundary=changesetresponse_c\r\n" +
        "\r\n" +
        "--changesetresponse_c\r\n" +
        "Content-Type: application/http\r\n" +
        "Content-Transfer-Encoding: binary\r\n" +
        "\r\n" +
        "HTTP/1.1 204 No Content\r\n" +
        "X-Content-Type-Options: nosniff\r\n" +
        "Cache-Control: no-cache\r\n" +
        "Preference-Applied: return-no-content\r\n" +
        "DataServiceVersion: 3.0;\r\n" +
        "Location: http://127.0.0.1:10002/devstoreaccount1/mytable(PartitionKey='p',RowKey='a')\r\n" +
        "DataServiceId: http://127.0.0.1:10002/devstoreaccount1/mytable(PartitionKey='p',RowKey='a')\r\n" +
        "ETag: W/\"datetime'2021-05-22T22%3A49%3A50.1Z'\"\r\n" +
        "\r\n" +
        "\r\n" +
        "--changesetresponse_c\r\n" +
        "Content-Type: application/http\r\n" +
        "Content-Transfer-Encoding: binary\r\n" +
        "\r\n" +
        "HTTP/1.1 204 No Content\r\n" +
        "DataServiceVersion: 1.0;\r\n" +
        "ETag: W/\"datetime'2021-05-22T22%3A49%3A50.2Z'\"\r\n" +
        "\r\n" +
        "\r\n" +
        "--changesetresponse_c\r\n" +
        "Content-Type: application/http\r\n" +
        "Content-Transfer-Encoding: binary\r\n" +
        "\r\n" +
        "HTTP/1.1 204 No Content\r\n" +
        "DataServiceVersion: 1.0;\r\n" +
        "\r\n" +
        "\r\n" +
        "--changesetresponse_c--\r\n" +
        "--batchresponse_b--\r\n";

    /// <summary>The shape of the documented sample error response: one part, the failing operation's.</summary>
    private static string FailureBody(string statusLine, string json) =>
        "--batchresponse_b\r\n" +
        "Content-Type: multipart/mixed; boundary=changesetresponse_c\r\n" +
        "\r\n" +
        "--changesetresponse_c\r\n" +
        "Content-Type: application/http\r\n" +
        "Content-Transfer-Encoding: binary\r\n" +
        "\r\n" +
        statusLine + "\r\n" +
        "Content-ID: 2\r\n" +
        "X-Content-Type-Options: nosniff\r\n" +
        "Cache-Control: no-cache\r\n" +
        "DataServiceVersion: 3.0;\r\n" +
        "Content-Type: application/json;odata=minimalmetadata;streaming=true;charset=utf-8\r\n" +
        "\r\n" +
        json + "\r\n" +
        "--changesetresponse_c--\r\n" +
        "--batchresponse_b--\r\n";

    private static TableResponse Canned(int status, string body) =>
        new(status,
            new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase) { ["Content-Type"] = "multipart/mixed; boundary=batchresponse_b" },
            Encoding.UTF8.GetBytes(body), null, null);

    private static HttpResponseMessage Multipart(HttpRequestMessage request, string body)
    {
        var response = new HttpResponseMessage(HttpStatusCode.Accepted) { Content = new StringContent(body) };
        response.Content.Headers.Remove("Content-Type");
        response.Content.Headers.TryAddWithoutValidation("Content-Type", "multipart/mixed; boundary=batchresponse_b");
        return response;
    }
}
