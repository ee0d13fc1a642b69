using System.Net;
using System.Text.Json;

namespace Iwrs.Functions.Tests;

public static class ProblemAssert
{
    /// <summary>Asserts an RFC 9457 problem with the given status and code, and returns its JSON.</summary>
    public static async Task<JsonElement> IsProblem(HttpResponseMessage response, HttpStatusCode status, string code)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(status == response.StatusCode, $"expected {(int)status}, got {(int)response.StatusCode}: {body}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var json = JsonDocument.Parse(body).RootElement.Clone();
        Assert.Equal(code, json.GetProperty("code").GetString());
        Assert.Equal((int)status, json.GetProperty("status").GetInt32());
        Assert.False(string.IsNullOrEmpty(json.GetProperty("title").GetString()));
        return json;
    }
}
