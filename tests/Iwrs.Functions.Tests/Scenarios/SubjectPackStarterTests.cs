using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Iwrs.Functions.Tests.Scenarios;

/// <summary>
/// The subject-pack design's starters over HTTP on Azurite (the blinded seed study with <c>supply.subjectPacks</c>,
/// under the preview setting): the timer orders starters up to the trigger, in the allocation ratio, from one batch;
/// randomizations are served from the oldest starter with capacity left; a kit lost at receipt costs its starter a
/// randomization whatever its type; with no starter left the site holds until starters are released. Which starter a
/// kit came from is printed on it, so the comparison keeps it: the same public actions under two secrets give the same
/// blinded observations, starters included.
/// </summary>
public sealed class SubjectPackStarterTests
{
    private const string Site = "CN01";
    private static readonly string[] Ecog = ["0", "1"];
    private static readonly string[] Liver = ["yes", "no"];

    private static JsonObject Packs() => new() { ["starterSize"] = 4, ["starterTrigger"] = 8, ["packVisits"] = 1 };

    [Fact]
    public async Task Starters_DifferentSecrets_SameStarterServesEachRandomization_IdenticalBlindedObservables()
    {
        var numbers = BlindSecret.Numbers(160);
        var a = await Scenario(BlindSecret.Drawn(BlindSecret.Seed(11), numbers, 1));
        var b = await Scenario(BlindSecret.Drawn(BlindSecret.Seed(22), numbers, 2));

        Assert.NotEqual(a.Arms, b.Arms);
        BlindAssert.SameObservations([.. a.Observed.Select(UpToKitNumbers)], [.. b.Observed.Select(UpToKitNumbers)]);

        // What the runs did: the first starter, which lost a kit at receipt, served one randomization; the next three
        // two each; the eighth subject found no starter (a hold), and after the urgent starters one more was served.
        Assert.Equal(["SH0001-1", "SH0001-2", "SH0001-2", "SH0001-3", "SH0001-3", "SH0001-4", "SH0001-4", "hold", "hold", "SH0004-1"], a.Served);
        Assert.Contains(a.Observed, o => o.Contains("\"reason\":\"starters\"", StringComparison.Ordinal));
        Assert.Contains(a.Observed, o => o.StartsWith("manager GET audit -> 200", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Timer_OrdersStartersInTheRatio_FromOneBatch_CountingThoseOnTheWay()
    {
        var numbers = BlindSecret.Numbers(160);
        await using var run = await BlindRun.StartAsync(BlindSecret.Drawn(BlindSecret.Seed(11), numbers, 1), subjectPacks: Packs());
        await run.RunTimersAsync();
        var shipments = (await run.Trial.Ok(BlindRun.Depot, HttpMethod.Get, "shipments")).EnumerateArray().ToList();

        // Trigger 8, 2 randomizations a starter: 4 starters (16 kits) for each of the three sites, nothing more when run again.
        Assert.Equal(3, shipments.Count);
        Assert.All(shipments, s =>
        {
            Assert.Equal("starters", s.GetProperty("reason").GetString());
            var kits = s.GetProperty("kits").EnumerateArray().ToList();
            Assert.Equal(16, kits.Count);
            foreach (var starter in kits.GroupBy(k => k.GetProperty("starter").GetString()))
            {
                Assert.Equal([2, 2], starter.GroupBy(k => k.GetProperty("kitType").GetString()).Select(g => g.Count()));
            }

            Assert.Equal(4, kits.Select(k => k.GetProperty("starter").GetString()).Distinct().Count());
        });
        await run.RunTimersAsync();
        Assert.Equal(3, (await run.Trial.Ok(BlindRun.Depot, HttpMethod.Get, "shipments")).GetArrayLength());

        // A pharmacist sees the starters printed on the kits, never their types.
        var seen = (await run.Trial.Ok(BlindRun.Pharmacist(Site), HttpMethod.Get, "shipments")).EnumerateArray().Single();
        Assert.All(seen.GetProperty("kits").EnumerateArray(), k =>
        {
            Assert.StartsWith("SH", k.GetProperty("starter").GetString(), StringComparison.Ordinal);
            Assert.False(k.TryGetProperty("kitType", out _));
        });
    }

    [Fact]
    public async Task LaterVisit_NeverFromAStarter_RefusedUntilItsPackArrives()
    {
        var numbers = BlindSecret.Numbers(160);
        await using var run = await BlindRun.StartAsync(BlindSecret.Drawn(BlindSecret.Seed(11), numbers, 1), subjectPacks: Packs());
        await run.RunTimersAsync();
        await run.DispatchAllAsync();
        await run.ReceiveAllAsync(Site);
        await run.Ok(BlindRun.Coordinator(Site), HttpMethod.Post, "subjects/PK-001/randomize", Request(0));
        run.Clock.Advance(TimeSpan.FromDays(21));

        var (status, body) = await run.Do(BlindRun.Coordinator(Site), HttpMethod.Post, "subjects/PK-001/visits/C2/dispense");
        Assert.Equal(HttpStatusCode.Conflict, status);
        Assert.Equal("pack-not-on-site", body.GetProperty("code").GetString());
        var subject = await run.Trial.Ok(BlindRun.Statistician, HttpMethod.Get, "subjects/PK-001");
        Assert.Equal(1, subject.GetProperty("dispensations").GetArrayLength());
    }

    /// <summary>
    /// An observation up to the kit numbers, which differ between the runs by construction: a list of kits (or of kit
    /// placeholders in a text) is compared as a multiset, since the order of kit numbers says which numbers the depot
    /// picked. What each kit carries, its starter included, stays (but for the import's list of every kit).
    /// </summary>
    internal static string UpToKitNumbers(string observation)
    {
        var arrow = observation.IndexOf(" -> ", StringComparison.Ordinal);
        var space = arrow < 0 ? -1 : observation.IndexOf(' ', arrow + 4);
        JsonNode? body = null;
        try
        {
            body = space < 0 ? null : JsonNode.Parse(observation[(space + 1)..]);
        }
        catch (JsonException)
        {
        }

        return body is null ? SortPlaceholders(observation) : observation[..(space + 1)] + Sorted(body)!.ToJsonString();

        static JsonNode? Sorted(JsonNode? node) => node switch
        {
            JsonArray array => new JsonArray([.. array.Select(Sorted).OrderBy(n => n?.ToJsonString(), StringComparer.Ordinal)]),
            // The import lists every kit before any starter exists: which of them went into which starter later is
            // which numbers the depot picked, different by construction.
            JsonObject obj when obj["action"]?.GetValue<string>() == "kits.imported" => JsonNode.Parse(System.Text.RegularExpressions.Regex.Replace(obj.ToJsonString(), "KIT@[A-Z0-9-]+", "KIT")),
            JsonObject obj => new JsonObject(obj.Select(kv => KeyValuePair.Create(kv.Key, Sorted(kv.Value)))),
            JsonValue value when value.TryGetValue<string>(out var text) => JsonValue.Create(SortPlaceholders(text)),
            _ => node?.DeepClone(),
        };

        static string SortPlaceholders(string text) => System.Text.RegularExpressions.Regex.Replace(
            text, @"KIT(@[A-Z0-9-]+)?(,KIT(@[A-Z0-9-]+)?)+", m => string.Join(",", m.Value.Split(',').Order(StringComparer.Ordinal)));
    }

    private static object Request(int i) => new
    {
        siteId = Site,
        eligibilityConfirmed = true,
        stratificationFactors = new Dictionary<string, string> { ["ecog"] = Ecog[i % 2], ["liver-mets"] = Liver[(i / 2) % 2] },
    };

    private sealed record Outcome(List<string> Observed, IReadOnlyList<string> Arms, IReadOnlyList<string> Served);

    private static async Task<Outcome> Scenario(BlindSecret secret)
    {
        await using var run = await BlindRun.StartAsync(secret, subjectPacks: Packs());
        await run.RunTimersAsync();
        await run.LabelStartersAsync();
        await run.DispatchAllAsync();

        // CN01's pharmacist reports the lowest-numbered kit of its first starter damaged (a public choice; its type
        // differs between the secrets); the depot manager releases the shipment.
        var shipment = (await run.Ok(BlindRun.Pharmacist(Site), HttpMethod.Get, "shipments")).EnumerateArray().Single();
        var id = shipment.GetProperty("shipmentId").GetString();
        var kits = shipment.GetProperty("kits").EnumerateArray().Select(k => (Number: k.GetProperty("kitNumber").GetString()!, Starter: k.GetProperty("starter").GetString()!)).ToList();
        var damaged = kits.Where(k => k.Starter == $"{id}-1").Select(k => k.Number).Order(StringComparer.Ordinal).First();
        await run.Ok(BlindRun.Pharmacist(Site), HttpMethod.Post, $"shipments/{id}/receive", new { kits = kits.Select(k => new { kitNumber = k.Number, condition = k.Number == damaged ? "damaged" : "ok" }) });
        await run.Trial.Ok(BlindRun.Depot, HttpMethod.Post, $"shipments/{id}/release");

        var served = new List<string>();
        var subjects = new List<string>();
        async Task Randomize(int i)
        {
            var subject = $"PK-{i + 1:D3}";
            var (status, body) = await run.Do(BlindRun.Coordinator(Site), HttpMethod.Post, $"subjects/{subject}/randomize", Request(i));
            if (status == HttpStatusCode.Created)
            {
                subjects.Add(subject);
                served.Add(run.KitLabels[body.GetProperty("dispensations")[0].GetProperty("kitNumber").GetString()!]);
            }
            else
            {
                Assert.Equal("supply-hold", body.GetProperty("code").GetString());
                served.Add("hold");
            }
        }

        for (var i = 0; i < 9; i++)
        {
            await Randomize(i);
            run.Clock.Advance(TimeSpan.FromHours(2));
        }

        // The hold ordered starters; they come, are received, and lift it.
        await run.RunTimersAsync();
        await run.LabelStartersAsync();
        await run.DispatchAllAsync();
        await run.ReceiveAllAsync(Site);
        await Randomize(9);
        await run.Ok(BlindRun.Pharmacist(Site), HttpMethod.Get, "shipments");
        await run.Ok(BlindRun.Manager, HttpMethod.Get, "audit");
        return new Outcome(run.Observed, await run.ArmsAsync(subjects), served);
    }
}
