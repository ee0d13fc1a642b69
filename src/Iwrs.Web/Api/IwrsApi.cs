using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Iwrs.Web.Auth;
using Microsoft.AspNetCore.Components.WebAssembly.Http;

namespace Iwrs.Web.Api;

/// <summary>The one door to <c>/api</c>: every call carries the signed-in user's bearer token, and every failure
/// comes back as the API's problem (an <see cref="ApiProblemException"/>).</summary>
public sealed class IwrsApi(HttpClient http, IAccessTokenSource tokens)
{
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public Task<T> GetAsync<T>(string path, CancellationToken ct = default) => SendAsync<T>(HttpMethod.Get, path, null, ct);

    public Task<T> PostAsync<T>(string path, object body, CancellationToken ct = default) => SendAsync<T>(HttpMethod.Post, path, JsonContent.Create(body, options: Json), ct);

    public Task<T> PutAsync<T>(string path, object body, CancellationToken ct = default) => SendAsync<T>(HttpMethod.Put, path, JsonContent.Create(body, options: Json), ct);

    public Task<T> PostTextAsync<T>(string path, string text, string mediaType, CancellationToken ct = default) =>
        SendAsync<T>(HttpMethod.Post, path, new StringContent(text, Encoding.UTF8, mediaType), ct);

    public async Task DeleteAsync(string path, CancellationToken ct = default)
    {
        using var response = await RawAsync(HttpMethod.Delete, path, null, ct);
    }

    public async Task<string> GetTextAsync(string path, CancellationToken ct = default)
    {
        using var response = await RawAsync(HttpMethod.Get, path, null, ct);
        return await response.Content.ReadAsStringAsync(ct);
    }

    private async Task<T> SendAsync<T>(HttpMethod method, string path, HttpContent? content, CancellationToken ct)
    {
        using var response = await RawAsync(method, path, content, ct);
        return (await response.Content.ReadFromJsonAsync<T>(Json, ct))!;
    }

    private async Task<HttpResponseMessage> RawAsync(HttpMethod method, string path, HttpContent? content, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(method, "api/" + path) { Content = content };
        // Answers hold subjects, kits and audit records: the browser keeps none of them in its HTTP cache, where a
        // later user of the same browser profile could read them.
        request.SetBrowserRequestCache(BrowserRequestCache.NoStore);
        var token = await tokens.GetAsync();
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        HttpResponseMessage response;
        try
        {
            response = await http.SendAsync(request, ct);
        }
        catch (HttpRequestException)
        {
            throw new ApiProblemException(new ApiProblem(0, "network-error", null, null));
        }

        if (response.IsSuccessStatusCode)
        {
            return response;
        }

        using (response)
        {
            throw new ApiProblemException(await ProblemOf(response, ct));
        }
    }

    private static async Task<ApiProblem> ProblemOf(HttpResponseMessage response, CancellationToken ct)
    {
        var status = (int)response.StatusCode;
        try
        {
            var problem = await response.Content.ReadFromJsonAsync<ApiProblem>(Json, ct);
            if (problem?.Code is not null)
            {
                return problem with { Status = status };
            }
        }
        catch (JsonException)
        {
            // Not a problem document (a proxy's page): fall through to the status alone.
        }

        return new ApiProblem(status, status == 401 ? "authentication-required" : "http-" + status.ToString(System.Globalization.CultureInfo.InvariantCulture), response.ReasonPhrase, null);
    }
}
