using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;

namespace Iwrs.Functions.Tests.Scenarios;

/// <summary>
/// Drives a study over HTTP the way its people would, keeping every response body a blinded user received so
/// a test can scan them all for unblinded data.
/// </summary>
public sealed class TrialDriver(IwrsFactory app, string studyId)
{
    private readonly Dictionary<string, HttpClient> _clients = [];

    public string StudyId { get; } = studyId;

    /// <summary>Every body a blinded user was sent, with the request it answered.</summary>
    public List<(string User, string Request, string Body)> BlindedBodies { get; } = [];

    public HashSet<string> BlindedUsers { get; } = new(StringComparer.Ordinal);

    public static string KitNumber() => new(RandomNumberGenerator.GetItems<char>("ABCDEFGHJKLMNPQRSTUVWXYZ23456789", 8));

    public async Task<HttpClient> Client(string user)
    {
        if (!_clients.TryGetValue(user, out var client))
        {
            client = await app.ClientFor(user);
            _clients[user] = client;
        }

        return client;
    }

    public async Task<(HttpStatusCode Status, JsonElement Body)> Send(string user, HttpMethod method, string path, object? body = null)
    {
        var client = await Client(user);
        using var request = new HttpRequestMessage(method, path.StartsWith('/') ? path : $"/api/studies/{StudyId}/{path}");
        if (body is not null)
        {
            request.Content = JsonContent.Create(body);
        }

        using var response = await client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        if (BlindedUsers.Contains(user))
        {
            BlindedBodies.Add((user, $"{method} {request.RequestUri}", text));
        }

        return (response.StatusCode, text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone());
    }

    public async Task<JsonElement> Ok(string user, HttpMethod method, string path, object? body = null)
    {
        var (status, json) = await Send(user, method, path, body);
        Assert.True((int)status is >= 200 and < 300, $"{user} {method} {path}: {(int)status} {json}");
        return json;
    }

    public async Task<JsonElement> Fails(string user, HttpMethod method, string path, object? body, HttpStatusCode expected, string code)
    {
        var (status, json) = await Send(user, method, path, body);
        Assert.True(status == expected, $"{user} {method} {path}: expected {(int)expected} {code}, got {(int)status} {json}");
        Assert.Equal(code, json.GetProperty("code").GetString());
        return json;
    }

    /// <summary>Imports <paramref name="perType"/> kits of every kit type, numbered at random, expiring in two years.</summary>
    public async Task<IReadOnlyList<string>> ImportKits(string depotUser, IReadOnlyList<string> kitTypes, int perType, string expiry = "2028-06-30")
    {
        // Random numbers run in long same-type blocks now and then (a few in a thousand lists of 40); the import
        // refuses such a list by design, so draw again until the domain's own check passes it.
        var kits = Draw();
        while (Iwrs.Domain.Supply.KitImport.LooksOrderedByType(
            [.. kits.Select(k => new Iwrs.Domain.Supply.Kit(k.kitNumber, k.kitType, k.lot, DateOnly.MaxValue, Iwrs.Domain.Supply.KitStatus.AtDepot, Iwrs.Domain.Supply.Kit.Depot, null, null, null))]))
        {
            kits = Draw();
        }

        var result = await Ok(depotUser, HttpMethod.Post, "kits/import", new { kits });
        Assert.Equal(kits.Count, result.GetProperty("imported").GetInt32());
        return kits.Select(k => k.kitNumber).ToList();

        List<ImportedKit> Draw() => [.. kitTypes.SelectMany(t => Enumerable.Range(0, perType).Select(_ => new ImportedKit(KitNumber(), t, "LOT-1", expiry)))];
    }

#pragma warning disable IDE1006 // Lower-case members: they are the JSON body's names.
    private sealed record ImportedKit(string kitNumber, string kitType, string lot, string expiry);
#pragma warning restore IDE1006

    /// <summary>Ships, dispatches and receives (all ok) kits to a site; returns the kit numbers received.</summary>
    public async Task<IReadOnlyList<string>> Stock(string depotUser, string pharmacist, string siteId, IReadOnlyDictionary<string, int> kits)
    {
        var shipment = await Ok(depotUser, HttpMethod.Post, "shipments", new { siteId, kits });
        var id = shipment.GetProperty("shipmentId").GetString()!;
        await Ok(depotUser, HttpMethod.Post, $"shipments/{id}/dispatch");
        var numbers = shipment.GetProperty("kits").EnumerateArray().Select(k => k.GetProperty("kitNumber").GetString()!).ToList();
        await Ok(pharmacist, HttpMethod.Post, $"shipments/{id}/receive", new { kits = numbers.Select(n => new { kitNumber = n, condition = "ok" }) });
        return numbers;
    }
}
