using System.Net;
using System.Text.Json;
using Iwrs.Storage.Tables;
using Iwrs.Testing;

namespace Iwrs.Storage.Tests.Tables;

/// <summary>What goes over the wire, and how answers are read, with the transport swapped for a stub.</summary>
public sealed class TableClientRequestTests
{
    private const string Base = "http://127.0.0.1:10002/devstoreaccount1";

    private static Action<HttpResponseMessage> WithETag(string etag) => r => r.Headers.TryAddWithoutValidation("ETag", etag);

    [Fact]
    public async Task Insert_IntoTableTest_SendsStandardHeadersAndKnownAnswerSignature()
    {
        var handler = new StubHttpHandler().Respond(HttpStatusCode.NoContent, configure: WithETag("W/\"1\""));
        var table = TestClients.Stub(handler).GetTableClient("test");

        await table.InsertAsync(new TableEntity("p", "r"));

        var request = handler.Single();
        Assert.Equal("POST", request.Method);
        Assert.Equal(Base + "/test", request.Url);
        Assert.Equal("2019-02-02", request.Header("x-ms-version"));
        Assert.Equal("Sat, 22 May 2021 22:49:50 GMT", request.Header("x-ms-date"));
        Assert.Equal("application/json;odata=nometadata", request.Header("Accept"));
        Assert.Equal("3.0;NetFx", request.Header("DataServiceVersion"));
        Assert.Equal("3.0;NetFx", request.Header("MaxDataServiceVersion"));
        Assert.Equal("return-no-content", request.Header("Prefer"));
        Assert.StartsWith("application/json", request.Header("Content-Type"));
        Assert.True(Guid.TryParse(request.Header("x-ms-client-request-id"), out _));

        // Same key, date and resource as the published vector, so the same signature.
        Assert.Equal("SharedKeyLite devstoreaccount1:jiUVQ7VyIq74T0M3pPlqNZ7+cb8wTTamlhqH+jt6rzU=", request.Header("Authorization"));
    }

    [Fact]
    public async Task Insert_AfterClockMoves_DateComesFromTimeProvider()
    {
        var time = new ManualTimeProvider(TestClients.Start);
        var handler = new StubHttpHandler()
            .Respond(HttpStatusCode.NoContent, configure: WithETag("W/\"1\""))
            .Respond(HttpStatusCode.NoContent, configure: WithETag("W/\"2\""));
        var table = TestClients.StubTable(handler, time);

        await table.InsertAsync(new TableEntity("p", "r1"));
        time.Advance(TimeSpan.FromDays(400) + TimeSpan.FromSeconds(7));
        await table.InsertAsync(new TableEntity("p", "r2"));

        Assert.Equal(["Sat, 22 May 2021 22:49:50 GMT", "Sun, 26 Jun 2022 22:49:57 GMT"], handler.Requests.Select(r => r.Header("x-ms-date")));
        Assert.NotEqual(handler.Requests[0].Header("Authorization"), handler.Requests[1].Header("Authorization"));
    }

    [Fact]
    public async Task Insert_AllPropertyTypes_BodyIsOneLineWithEdmAnnotations()
    {
        var handler = new StubHttpHandler().Respond(HttpStatusCode.NoContent, configure: WithETag("W/\"1\""));
        var when = new DateTimeOffset(2024, 2, 29, 23, 59, 58, TimeSpan.FromHours(2)).AddTicks(1234567);
        var entity = new TableEntity("p", "r")
            .Set("S", "line1\nline2 'q' ü")
            .Set("B", true)
            .Set("I", 42)
            .Set("L", (1L << 53) + 1)
            .Set("D", 2.0)
            .Set("Inf", double.PositiveInfinity)
            .Set("W", when)
            .Set("G", Guid.Parse("3f2504e0-4f89-11d3-9a0c-0305e82c3301"))
            .Set("X", new byte[] { 1, 2, 255 });

        await TestClients.StubTable(handler).InsertAsync(entity);

        var body = handler.Single().BodyText;
        Assert.DoesNotContain('\n', body);
        Assert.DoesNotContain('\r', body);
        using var json = JsonDocument.Parse(body);
        var root = json.RootElement;
        Assert.Equal("p", root.GetProperty("PartitionKey").GetString());
        Assert.Equal("r", root.GetProperty("RowKey").GetString());
        Assert.Equal("line1\nline2 'q' ü", root.GetProperty("S").GetString());
        Assert.True(root.GetProperty("B").GetBoolean());
        Assert.Equal(42, root.GetProperty("I").GetInt32());
        Assert.False(root.TryGetProperty("I@odata.type", out _));
        Assert.False(root.TryGetProperty("S@odata.type", out _));
        Assert.Equal("Edm.Int64", root.GetProperty("L@odata.type").GetString());
        Assert.Equal("9007199254740993", root.GetProperty("L").GetString());
        Assert.Equal("Edm.Double", root.GetProperty("D@odata.type").GetString());
        Assert.Equal(2.0, root.GetProperty("D").GetDouble());
        Assert.Equal("Infinity", root.GetProperty("Inf").GetString());
        Assert.Equal("Edm.DateTime", root.GetProperty("W@odata.type").GetString());
        Assert.Equal("2024-02-29T21:59:58.1234567Z", root.GetProperty("W").GetString());
        Assert.Equal("Edm.Guid", root.GetProperty("G@odata.type").GetString());
        Assert.Equal("3f2504e0-4f89-11d3-9a0c-0305e82c3301", root.GetProperty("G").GetString());
        Assert.Equal("Edm.Binary", root.GetProperty("X@odata.type").GetString());
        Assert.Equal("AQL/", root.GetProperty("X").GetString());
    }

    [Fact]
    public async Task GetEntity_KeysWithQuotesSpacesAndNonAscii_AreQuoteDoubledAndPercentEncoded()
    {
        var handler = new StubHttpHandler().RespondError(HttpStatusCode.NotFound, "ResourceNotFound");

        await TestClients.StubTable(handler).GetEntityAsync("O'Brien", "Zürich 日本 🧪");

        Assert.Equal(
            Base + "/mytable(PartitionKey='O%27%27Brien',RowKey='Z%C3%BCrich%20%E6%97%A5%E6%9C%AC%20%F0%9F%A7%AA')",
            handler.Single().Url);
        Assert.Equal("application/json;odata=minimalmetadata", handler.Single().Header("Accept"));
    }

    [Fact]
    public async Task GetEntity_WithSelect_AddsKeysAndEncodes()
    {
        var handler = new StubHttpHandler().RespondError(HttpStatusCode.NotFound, "ResourceNotFound");

        await TestClients.StubTable(handler).GetEntityAsync("p", "r", ["Name", "Count"]);

        Assert.Equal(Base + "/mytable(PartitionKey='p',RowKey='r')?$select=PartitionKey%2CRowKey%2CName%2CCount", handler.Single().Url);
    }

    [Fact]
    public async Task GetEntity_NotFound_ReturnsNull()
    {
        var handler = new StubHttpHandler().RespondError(HttpStatusCode.NotFound, "ResourceNotFound");

        Assert.Null(await TestClients.StubTable(handler).GetEntityAsync("p", "r"));
    }

    [Fact]
    public async Task GetEntity_TableNotFound_Throws()
    {
        var handler = new StubHttpHandler().RespondError(HttpStatusCode.NotFound, "TableNotFound");

        var ex = await Assert.ThrowsAsync<TableStorageException>(() => TestClients.StubTable(handler).GetEntityAsync("p", "r"));

        Assert.Equal(404, ex.Status);
        Assert.Equal("TableNotFound", ex.ErrorCode);
    }

    [Fact]
    public async Task GetEntity_NometadataPayload_TypedGettersConvert()
    {
        // What nometadata gives back: Int64, DateTime, Guid and Binary as bare strings, a whole double as an integer.
        const string body = """
            {"PartitionKey":"p","RowKey":"r","Timestamp":"2021-05-22T22:49:50.123Z","L":"9007199254740993",
             "W":"2024-02-29T21:59:58.1234567Z","G":"3f2504e0-4f89-11d3-9a0c-0305e82c3301","X":"AQL/","D":2,"I":7,"S":"s"}
            """;
        var handler = new StubHttpHandler().RespondJson(HttpStatusCode.OK, body, WithETag("W/\"datetime'2021-05-22T22%3A49%3A50.123Z'\""));

        var e = await TestClients.StubTable(handler).GetEntityAsync("p", "r");

        Assert.NotNull(e);
        Assert.Equal("W/\"datetime'2021-05-22T22%3A49%3A50.123Z'\"", e.ETag);
        Assert.Equal(new DateTimeOffset(2021, 5, 22, 22, 49, 50, 123, TimeSpan.Zero), e.Timestamp);
        Assert.Equal((1L << 53) + 1, e.GetInt64("L"));
        Assert.Equal(new DateTimeOffset(2024, 2, 29, 21, 59, 58, TimeSpan.Zero).AddTicks(1234567), e.GetDateTimeOffset("W"));
        Assert.Equal(Guid.Parse("3f2504e0-4f89-11d3-9a0c-0305e82c3301"), e.GetGuid("G"));
        Assert.Equal(new byte[] { 1, 2, 255 }, e.GetBinary("X"));
        Assert.Equal(2.0, e.GetDouble("D"));
        Assert.Equal(7L, e.GetInt64("I"));
        Assert.Equal("s", e.GetString("S"));
        Assert.False(e.ContainsKey("Timestamp"));
    }

    [Fact]
    public async Task GetEntity_MinimalMetadataPayload_UsesAnnotations()
    {
        const string body = """
            {"odata.metadata":"http://x/$metadata#t/@Element","odata.etag":"W/\"body\"","PartitionKey":"p","RowKey":"r",
             "Timestamp@odata.type":"Edm.DateTime","Timestamp":"2021-05-22T22:49:50Z",
             "L@odata.type":"Edm.Int64","L":"5","G@odata.type":"Edm.Guid","G":"3f2504e0-4f89-11d3-9a0c-0305e82c3301",
             "D@odata.type":"Edm.Double","D":"NaN","X@odata.type":"Edm.Binary","X":"AQ=="}
            """;
        var handler = new StubHttpHandler().RespondJson(HttpStatusCode.OK, body);

        var e = await TestClients.StubTable(handler).GetEntityAsync("p", "r");

        Assert.Equal("W/\"body\"", e!.ETag);
        Assert.IsType<long>(e["L"]);
        Assert.IsType<Guid>(e["G"]);
        Assert.True(double.IsNaN(Assert.IsType<double>(e["D"])));
        Assert.Equal(new byte[] { 1 }, Assert.IsType<byte[]>(e["X"]));
        Assert.Equal(4, e.Count);
    }

    [Theory]
    [InlineData(TableUpdateMode.Replace, "PUT")]
    [InlineData(TableUpdateMode.Merge, "MERGE")]
    public async Task Update_SendsMethodAndIfMatchVerbatim(TableUpdateMode mode, string method)
    {
        const string etag = "W/\"datetime'2021-05-22T22%3A49%3A50.123Z'\"";
        var handler = new StubHttpHandler().Respond(HttpStatusCode.NoContent, configure: WithETag("W/\"new\""));

        var result = await TestClients.StubTable(handler).UpdateAsync(new TableEntity("p", "r"), new TableETag(etag), mode);

        Assert.Equal("W/\"new\"", result);
        var request = handler.Single();
        Assert.Equal(method, request.Method);
        Assert.Equal(etag, request.Header("If-Match"));
        Assert.Equal(Base + "/mytable(PartitionKey='p',RowKey='r')", request.Url);
    }

    [Theory]
    [InlineData(TableUpdateMode.Replace, "PUT")]
    [InlineData(TableUpdateMode.Merge, "MERGE")]
    public async Task Upsert_SendsNoIfMatch(TableUpdateMode mode, string method)
    {
        var handler = new StubHttpHandler().Respond(HttpStatusCode.NoContent, configure: WithETag("W/\"new\""));

        await TestClients.StubTable(handler).UpsertAsync(new TableEntity("p", "r"), mode);

        Assert.Equal(method, handler.Single().Method);
        Assert.Null(handler.Single().Header("If-Match"));
    }

    [Fact]
    public async Task Update_DefaultETag_ThrowsBeforeSending()
    {
        var handler = new StubHttpHandler();

        await Assert.ThrowsAsync<ArgumentException>(
            () => TestClients.StubTable(handler).UpdateAsync(new TableEntity("p", "r"), default, TableUpdateMode.Merge));

        Assert.Empty(handler.Requests);
    }

    [Fact]
    public async Task Delete_AllETag_SendsStarAndReturnsTrue()
    {
        var handler = new StubHttpHandler().Respond(HttpStatusCode.NoContent);

        Assert.True(await TestClients.StubTable(handler).DeleteAsync("p", "r", TableETag.All));

        Assert.Equal("DELETE", handler.Single().Method);
        Assert.Equal("*", handler.Single().Header("If-Match"));
    }

    [Fact]
    public async Task Delete_NotFound_ReturnsFalse()
    {
        var handler = new StubHttpHandler().RespondError(HttpStatusCode.NotFound, "ResourceNotFound");

        Assert.False(await TestClients.StubTable(handler).DeleteAsync("p", "r", TableETag.All));
    }

    [Fact]
    public async Task CreateIfNotExists_Created_TrueAndPostsTableName()
    {
        var handler = new StubHttpHandler().Respond(HttpStatusCode.NoContent);

        Assert.True(await TestClients.StubTable(handler).CreateIfNotExistsAsync());

        Assert.Equal(Base + "/Tables", handler.Single().Url);
        Assert.Equal("{\"TableName\":\"mytable\"}", handler.Single().BodyText);
    }

    [Fact]
    public async Task CreateIfNotExists_AlreadyExists_False()
    {
        var handler = new StubHttpHandler().RespondError(HttpStatusCode.Conflict, "TableAlreadyExists");

        Assert.False(await TestClients.StubTable(handler).CreateIfNotExistsAsync());
    }

    [Fact]
    public async Task CreateIfNotExists_BeingDeleted_Throws()
    {
        var handler = new StubHttpHandler().RespondError(HttpStatusCode.Conflict, "TableBeingDeleted");

        var ex = await Assert.ThrowsAsync<TableStorageException>(() => TestClients.StubTable(handler).CreateIfNotExistsAsync());

        Assert.Equal("TableBeingDeleted", ex.ErrorCode);
    }

    [Fact]
    public async Task Insert_Conflict_ThrowsWithStatusCodeAndServiceMessage()
    {
        var handler = new StubHttpHandler().RespondError(HttpStatusCode.Conflict, "EntityAlreadyExists", "The specified entity already exists.");

        var ex = await Assert.ThrowsAsync<TableStorageException>(() => TestClients.StubTable(handler).InsertAsync(new TableEntity("p", "r")));

        Assert.Equal(409, ex.Status);
        Assert.Equal("EntityAlreadyExists", ex.ErrorCode);
        Assert.Contains("The specified entity already exists.", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(AzuriteServer.AccountKey, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Insert_XmlErrorWithoutHeader_CodeReadFromBody()
    {
        const string xml = "<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>AuthenticationFailed</Code><Message>Server failed to authenticate the request.</Message></Error>";
        var handler = new StubHttpHandler().Respond(HttpStatusCode.Forbidden, xml);

        var ex = await Assert.ThrowsAsync<TableStorageException>(() => TestClients.StubTable(handler).InsertAsync(new TableEntity("p", "r")));

        Assert.Equal(403, ex.Status);
        Assert.Equal("AuthenticationFailed", ex.ErrorCode);
        Assert.Contains("Server failed to authenticate", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Insert_InvalidKey_ThrowsBeforeSending()
    {
        var handler = new StubHttpHandler();

        await Assert.ThrowsAsync<ArgumentException>(() => TestClients.StubTable(handler).InsertAsync(new TableEntity("p", "a/b")));

        Assert.Empty(handler.Requests);
    }

    [Fact]
    public async Task QueryPage_AllParameters_AreEncodedInTheUrl()
    {
        var handler = new StubHttpHandler().RespondJson(HttpStatusCode.OK, "{\"value\":[]}");
        var filter = TableFilter.Create($"PartitionKey eq {"O'Brien & co"} and Score gt {5L}");

        await TestClients.StubTable(handler).QueryPageAsync(
            filter, ["Score"], top: 10, continuation: new TableContinuation("1!8!cA--", "1!8!cg--"));

        Assert.Equal(
            Base + "/mytable()?$filter=PartitionKey%20eq%20%27O%27%27Brien%20%26%20co%27%20and%20Score%20gt%205L"
                 + "&$select=PartitionKey%2CRowKey%2CScore&$top=10&NextPartitionKey=1%218%21cA--&NextRowKey=1%218%21cg--",
            handler.Single().Url);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1001)]
    public async Task QueryPage_TopOutOfRange_Throws(int top)
    {
        var handler = new StubHttpHandler();

        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => TestClients.StubTable(handler).QueryPageAsync(null, top: top));
        Assert.Empty(handler.Requests);
    }

    [Fact]
    public async Task QueryAsync_EmptyPageWithContinuation_KeepsGoing()
    {
        static Action<HttpResponseMessage> Next(string pk, string rk) => r =>
        {
            r.Headers.TryAddWithoutValidation("x-ms-continuation-NextPartitionKey", pk);
            r.Headers.TryAddWithoutValidation("x-ms-continuation-NextRowKey", rk);
        };
        var handler = new StubHttpHandler()
            .RespondJson(HttpStatusCode.OK, "{\"value\":[{\"PartitionKey\":\"p\",\"RowKey\":\"a\"}]}", Next("pk1", "rk1"))
            .RespondJson(HttpStatusCode.OK, "{\"value\":[]}", Next("pk2", "rk2"))
            .RespondJson(HttpStatusCode.OK, "{\"value\":[{\"PartitionKey\":\"q\",\"RowKey\":\"b\"}]}");

        var rows = await TableClientIntegrationTests.ToListAsync(TestClients.StubTable(handler).QueryAsync(TableFilter.Create($"X eq {1}")));

        Assert.Equal(["a", "b"], rows.Select(r => r.RowKey));
        Assert.Equal(3, handler.Requests.Count);
        Assert.DoesNotContain("NextPartitionKey", handler.Requests[0].Url, StringComparison.Ordinal);
        Assert.EndsWith("&NextPartitionKey=pk1&NextRowKey=rk1", handler.Requests[1].Url, StringComparison.Ordinal);
        Assert.EndsWith("&NextPartitionKey=pk2&NextRowKey=rk2", handler.Requests[2].Url, StringComparison.Ordinal);
        Assert.All(handler.Requests, r => Assert.Contains("$filter=X%20eq%201", r.Url, StringComparison.Ordinal));
    }

    [Fact]
    public async Task QueryAsync_MaxResultsAcrossPages_AsksOnlyForWhatRemains()
    {
        var handler = new StubHttpHandler()
            .RespondJson(HttpStatusCode.OK, "{\"value\":[{\"PartitionKey\":\"p\",\"RowKey\":\"a\"},{\"PartitionKey\":\"p\",\"RowKey\":\"b\"}]}",
                r => r.Headers.TryAddWithoutValidation("x-ms-continuation-NextPartitionKey", "pk1"))
            .RespondJson(HttpStatusCode.OK, "{\"value\":[{\"PartitionKey\":\"p\",\"RowKey\":\"c\"}]}",
                r => r.Headers.TryAddWithoutValidation("x-ms-continuation-NextPartitionKey", "pk2"));

        var rows = await TableClientIntegrationTests.ToListAsync(TestClients.StubTable(handler).QueryAsync(null, maxResults: 3));

        Assert.Equal(["a", "b", "c"], rows.Select(r => r.RowKey));
        Assert.Equal(2, handler.Requests.Count);
        Assert.Contains("$top=3", handler.Requests[0].Url, StringComparison.Ordinal);
        Assert.Contains("$top=1", handler.Requests[1].Url, StringComparison.Ordinal);
        Assert.DoesNotContain("NextRowKey", handler.Requests[1].Url, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Ping_QueriesTablesWithTopOne()
    {
        var handler = new StubHttpHandler().RespondJson(HttpStatusCode.OK, "{\"value\":[]}");

        await TestClients.Stub(handler).PingAsync(CancellationToken.None);

        Assert.Equal(Base + "/Tables?$top=1", handler.Single().Url);
    }

    [Fact]
    public async Task Ping_Forbidden_ThrowsTableStorageException()
    {
        var handler = new StubHttpHandler().RespondError(HttpStatusCode.Forbidden, "AuthenticationFailed");

        var ex = await Assert.ThrowsAsync<TableStorageException>(() => TestClients.Stub(handler).PingAsync(CancellationToken.None));

        Assert.IsNotType<StorageUnavailableException>(ex);
        Assert.Equal(403, ex.Status);
        Assert.Single(handler.Requests);
    }

    [Theory]
    [InlineData("ab")]
    [InlineData("1abc")]
    [InlineData("my-table")]
    [InlineData("tables")]
    [InlineData("Tables")]
    [InlineData("")]
    public void GetTableClient_InvalidName_Throws(string name)
    {
        Assert.Throws<ArgumentException>(() => TestClients.Stub(new StubHttpHandler()).GetTableClient(name));
    }

    [Theory]
    [InlineData("abc")]
    [InlineData("Trial42Rows")]
    public void GetTableClient_ValidName_KeepsName(string name)
    {
        Assert.Equal(name, TestClients.Stub(new StubHttpHandler()).GetTableClient(name).Name);
    }
}
