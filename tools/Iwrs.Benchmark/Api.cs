using System.Diagnostics;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;

namespace Iwrs.Benchmark;

/// <summary>A setup step or a randomization that did not succeed; its message carries the problem body.</summary>
public sealed class BenchmarkFailedException(string message) : Exception(message);

/// <summary>One randomize call as the client saw it.</summary>
public readonly record struct RandomizeOutcome(int Status, string Body, double Milliseconds)
{
    public bool IsCreated => Status == 201;

    public bool IsWriteConflict => Status == 409 && Code == "write-conflict";

    public string? Code
    {
        get
        {
            try
            {
                using var doc = JsonDocument.Parse(Body);
                return doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("code", out var code) ? code.GetString() : null;
            }
            catch (JsonException)
            {
                return null;
            }
        }
    }
}

/// <summary>The app over real HTTP, with a development token per user (minted once by the app's own endpoint).</summary>
public sealed class Api(HttpClient http, string studyId)
{
    private readonly Dictionary<string, string> _tokens = new(StringComparer.Ordinal);

    public string StudyId { get; } = studyId;

    public async Task<string> TokenAsync(string userId)
    {
        if (_tokens.TryGetValue(userId, out var token))
        {
            return token;
        }

        using var response = await http.PostAsJsonAsync("/api/dev/token", new { userId });
        var body = await response.Content.ReadAsStringAsync();
        if (!response.IsSuccessStatusCode)
        {
            throw new BenchmarkFailedException($"POST /api/dev/token for {userId}: {(int)response.StatusCode} {body}");
        }

        token = JsonDocument.Parse(body).RootElement.GetProperty("accessToken").GetString()!;
        _tokens[userId] = token;
        return token;
    }

    /// <summary>A 2xx answer's JSON, or a <see cref="BenchmarkFailedException"/> with the problem body.</summary>
    public async Task<JsonElement> OkAsync(string user, HttpMethod method, string path, object? body = null, string? rawJson = null)
    {
        var fullPath = path.StartsWith('/') ? path : $"/api/studies/{StudyId}/{path}";
        using var request = new HttpRequestMessage(method, fullPath);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", await TokenAsync(user));
        if (rawJson is not null)
        {
            request.Content = new StringContent(rawJson, Encoding.UTF8, "application/json");
        }
        else if (body is not null)
        {
            request.Content = JsonContent.Create(body);
        }

        using var response = await http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        if (!response.IsSuccessStatusCode)
        {
            throw new BenchmarkFailedException($"{user} {method} {fullPath}: {(int)response.StatusCode} {text}");
        }

        return text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone();
    }

    /// <summary>
    /// One randomization, timed on the client from sending the request to having read the whole answer. The body and
    /// token are prepared before the clock starts.
    /// </summary>
    public async Task<RandomizeOutcome> RandomizeAsync(string token, string subjectId, string siteId, string ecog, string liverMets)
    {
        var json = JsonSerializer.Serialize(new
        {
            siteId,
            eligibilityConfirmed = true,
            stratificationFactors = new Dictionary<string, string> { ["ecog"] = ecog, ["liver-mets"] = liverMets },
        });
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/api/studies/{StudyId}/subjects/{subjectId}/randomize")
        {
            Content = new StringContent(json, Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);

        var start = Stopwatch.GetTimestamp();
        using var response = await http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        var elapsed = Stopwatch.GetElapsedTime(start);
        return new RandomizeOutcome((int)response.StatusCode, text, elapsed.TotalMilliseconds);
    }
}
