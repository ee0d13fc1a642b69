using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Iwrs.Testing;

namespace Iwrs.Functions.Tests.Errors;

/// <summary>Bad input is a 4xx problem with a code, never a 500; storage down is a 503 with Retry-After.</summary>
public sealed class ErrorResponsesTests : IAsyncLifetime
{
    private readonly IwrsFactory _app = new(settings: new() { ["Api:MaxRequestBodyBytes"] = "65536" });
    private HttpClient _admin = null!;

    public async Task InitializeAsync()
    {
        await _app.LoadSeedStudies();
        _admin = await _app.ClientFor(IwrsFactory.Admin);
    }

    public async Task DisposeAsync() => await _app.DisposeAsync();

    [Fact]
    public async Task Put_MalformedJson_IsInvalidJson()
    {
        using var response = await _admin.PutAsync("/api/studies/LJ-MCRC", IwrsFactory.Json("{\"studyId\": \"LJ-MCRC\", "));
        await ProblemAssert.IsProblem(response, HttpStatusCode.BadRequest, "invalid-json");
    }

    [Fact]
    public async Task Put_WrongType_IsInvalidJsonNamingTheField()
    {
        using var response = await _admin.PutAsync("/api/studies/LJ-MCRC", IwrsFactory.Json("{\"studyId\": \"LJ-MCRC\", \"version\": \"two\"}"));
        var problem = await ProblemAssert.IsProblem(response, HttpStatusCode.BadRequest, "invalid-json");
        Assert.Equal("$.version", problem.GetProperty("errors")[0].GetProperty("field").GetString());
    }

    [Fact]
    public async Task Put_UnknownMember_IsInvalidJson()
    {
        using var response = await _admin.PutAsync("/api/studies/LJ-MCRC", IwrsFactory.Json("{\"studyId\": \"LJ-MCRC\", \"blocksizes\": [4]}"));
        await ProblemAssert.IsProblem(response, HttpStatusCode.BadRequest, "invalid-json");
    }

    [Fact]
    public async Task Put_EmptyObject_ListsEveryMissingField()
    {
        using var response = await _admin.PutAsync("/api/studies/LJ-MCRC", IwrsFactory.Json("{}"));
        var problem = await ProblemAssert.IsProblem(response, HttpStatusCode.BadRequest, "validation-failed");
        var fields = problem.GetProperty("errors").EnumerateArray().Select(e => e.GetProperty("field").GetString()).ToHashSet();
        foreach (var field in new[] { "studyId", "version", "title", "status", "design", "arms", "kitTypes", "visitSchedule", "supply", "sites" })
        {
            Assert.Contains(field, fields);
        }
    }

    [Theory]
    [InlineData("null")]
    [InlineData("[]")]
    [InlineData("42")]
    [InlineData("")]
    public async Task Put_NotAnObject_Is4xx(string body)
    {
        using var response = await _admin.PutAsync("/api/studies/LJ-MCRC", IwrsFactory.Json(body));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task Put_OversizedBody_Is413()
    {
        var huge = "{\"title\": \"" + new string('x', 70_000) + "\"}";
        using var response = await _admin.PutAsync("/api/studies/LJ-MCRC", IwrsFactory.Json(huge));
        await ProblemAssert.IsProblem(response, HttpStatusCode.RequestEntityTooLarge, "request-too-large");
    }

    [Fact]
    public async Task Put_OversizedChunkedBody_Is413()
    {
        var huge = "{\"title\": \"" + new string('x', 70_000) + "\"}";
        using var content = new StreamContent(new MemoryStream(System.Text.Encoding.UTF8.GetBytes(huge)));
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        using var request = new HttpRequestMessage(HttpMethod.Put, "/api/studies/LJ-MCRC") { Content = content };
        request.Headers.TransferEncodingChunked = true;
        using var response = await _admin.SendAsync(request);
        await ProblemAssert.IsProblem(response, HttpStatusCode.RequestEntityTooLarge, "request-too-large");
    }

    [Fact]
    public async Task Put_WrongMediaType_Is415()
    {
        using var response = await _admin.PutAsync("/api/studies/LJ-MCRC", new StringContent("<study/>", System.Text.Encoding.UTF8, "application/xml"));
        await ProblemAssert.IsProblem(response, HttpStatusCode.UnsupportedMediaType, "unsupported-media-type");
    }

    [Fact]
    public async Task UnknownRoute_IsNotFoundProblem()
    {
        using var response = await _admin.GetAsync("/api/nothing-here");
        await ProblemAssert.IsProblem(response, HttpStatusCode.NotFound, "not-found");
    }

    [Fact]
    public async Task WrongMethod_IsMethodNotAllowedProblem()
    {
        using var response = await _admin.PostAsync("/api/studies/LJ-MCRC", IwrsFactory.Json("{}"));
        await ProblemAssert.IsProblem(response, HttpStatusCode.MethodNotAllowed, "method-not-allowed");
    }

    [Fact]
    public async Task InvalidStudyIdInPath_IsNotFound()
    {
        using var response = await _admin.GetAsync("/api/studies/bad%27id");
        await ProblemAssert.IsProblem(response, HttpStatusCode.NotFound, "study-not-found");
    }

    [Fact]
    public async Task OpenApiDocument_IsServedAndListsTheContract()
    {
        var client = _app.CreateClient();
        var doc = await client.GetFromJsonAsync<JsonElement>("/api/openapi/v1.json");
        var paths = doc.GetProperty("paths").EnumerateObject().Select(p => p.Name).ToList();
        Assert.Contains("/api/health", paths);
        Assert.Contains("/api/studies/{studyId}", paths);
        Assert.Contains("/api/studies/{studyId}/audit/verify", paths);
    }

    [Fact]
    public async Task Health_StorageReachable_IsHealthy()
    {
        var response = await _app.CreateClient().GetAsync("/api/health");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var health = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("healthy", health.GetProperty("status").GetString());
        Assert.Equal("reachable", health.GetProperty("storage").GetString());
    }
}

/// <summary>The app pointed at a port where no storage listens.</summary>
public sealed class StorageDownTests : IAsyncLifetime
{
    private readonly IwrsFactory _app = new(settings: new()
    {
        ["Storage:ConnectionString"] = $"DefaultEndpointsProtocol=http;AccountName={AzuriteServer.AccountName};AccountKey={AzuriteServer.AccountKey};TableEndpoint=http://127.0.0.1:{AzuriteServer.FreePort()}/{AzuriteServer.AccountName};",
    });

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _app.DisposeAsync();

    [Fact]
    public async Task Health_StorageUnreachable_Is503WithRetryAfter()
    {
        using var response = await _app.CreateClient().GetAsync("/api/health");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.NotNull(response.Headers.RetryAfter);
        Assert.Equal("unreachable", (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("storage").GetString());
    }

    [Fact]
    public async Task AnyStorageBackedEndpoint_StorageUnreachable_Is503ProblemWithRetryAfter()
    {
        var client = await _app.ClientFor(IwrsFactory.Admin);
        using var response = await client.GetAsync("/api/studies");
        await ProblemAssert.IsProblem(response, HttpStatusCode.ServiceUnavailable, "storage-unavailable");
        Assert.NotNull(response.Headers.RetryAfter);
    }
}
