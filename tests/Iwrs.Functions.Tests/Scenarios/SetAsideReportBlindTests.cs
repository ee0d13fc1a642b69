namespace Iwrs.Functions.Tests.Scenarios;

/// <summary>A set-aside kit reported lost, on the blinded seed study (second attacker review's probe, kept as a regression test).</summary>
public sealed class SetAsideReportBlindTests
{
    private const string Site = "CN01";
    private static readonly Dictionary<string, string> Stratum = new() { ["ecog"] = "0", ["liver-mets"] = "yes" };

    private static object Randomization() => new { siteId = Site, eligibilityConfirmed = true, stratificationFactors = Stratum };

    /// <summary>
    /// Shelf 1 + 1; a 4 + 4 shipment loses its lowest-numbered kit and is released (7 set aside).
    /// The pharmacist reports the lower-numbered shelf kit K1 (the site holds), then one set-aside kit S. When a shelf kit
    /// of S's type stood in for it, whether one was left depended on whether S and K1 share a type; now S's replacement
    /// always waits with the other set-aside kits. Secret A: same type;
    /// secret B: different types (a relabeling of two ok kits of the 4 + 4 shipment, same numbers and counts). Then the
    /// two shelf-loss replacements are released and the coordinator randomizes.
    /// </summary>
    [Fact]
    public async Task SetAsideKitReported_WhetherItSharesATypeWithAnEarlierReport_GainsNothing()
    {
        var numbers = BlindSecret.Numbers(10);
        var spare = BlindSecret.Drawn([], BlindSecret.Numbers(30), 11).Kits;
        var secret = BlindSecret.Spelled(BlindSecret.Seed(5), numbers, "LPLPLPLPLP");
        async Task<List<string>> Run(bool sameType)
        {
            await using var run = await BlindRun.StartAsync(secret);
            var pharm = BlindRun.Pharmacist(Site);
            var s1 = await run.Trial.Ok(BlindRun.Depot, HttpMethod.Post, "shipments", new { siteId = Site, kits = new Dictionary<string, int> { ["LJ-CAPS"] = 1, ["PBO-CAPS"] = 1 } });
            await run.Trial.Ok(BlindRun.Depot, HttpMethod.Post, $"shipments/{s1.GetProperty("shipmentId").GetString()}/dispatch");
            await run.ReceiveAllAsync(Site);
            var shelfKits = s1.GetProperty("kits").EnumerateArray().Select(k => k.GetProperty("kitNumber").GetString()!).Order(StringComparer.Ordinal).ToList();
            var k1 = shelfKits[0];
            var k1Type = s1.GetProperty("kits").EnumerateArray().Single(k => k.GetProperty("kitNumber").GetString() == k1).GetProperty("kitType").GetString();

            var s2 = await run.Trial.Ok(BlindRun.Depot, HttpMethod.Post, "shipments", new { siteId = Site, kits = new Dictionary<string, int> { ["LJ-CAPS"] = 4, ["PBO-CAPS"] = 4 } });
            var id2 = s2.GetProperty("shipmentId").GetString()!;
            await run.Trial.Ok(BlindRun.Depot, HttpMethod.Post, $"shipments/{id2}/dispatch");
            await run.ImportMoreAsync(spare);
            var kits2 = s2.GetProperty("kits").EnumerateArray().Select(k => (Number: k.GetProperty("kitNumber").GetString()!, Type: k.GetProperty("kitType").GetString()!)).OrderBy(k => k.Number, StringComparer.Ordinal).ToList();
            await run.Do(pharm, HttpMethod.Post, $"shipments/{id2}/receive", new { kits = kits2.Select((k, i) => new { kitNumber = k.Number, condition = i == 0 ? "damaged" : "ok" }) });
            await run.Trial.Ok(BlindRun.Depot, HttpMethod.Post, $"shipments/{id2}/release");
            await run.Do(pharm, HttpMethod.Get, $"sites/{Site}/inventory");

            await run.Do(pharm, HttpMethod.Post, $"sites/{Site}/kits/{k1}/report", new { condition = "missing", reason = "not in the fridge" });
            var s = kits2.Skip(1).First(k => (k.Type == k1Type) == sameType).Number;
            await run.Do(pharm, HttpMethod.Post, $"sites/{Site}/kits/{s}/report", new { condition = "missing", reason = "not in the fridge" });

            var replacements = (await run.Trial.Ok(BlindRun.Depot, HttpMethod.Get, "shipments")).EnumerateArray()
                .Where(x => x.GetProperty("reason").GetString() == "replacement").Select(x => x.GetProperty("shipmentId").GetString()!).Order(StringComparer.Ordinal).ToList();
            Assert.Equal(3, replacements.Count);
            await run.Trial.Ok(BlindRun.Depot, HttpMethod.Post, $"shipments/{replacements[1]}/dispatch");
            await run.Trial.Ok(BlindRun.Depot, HttpMethod.Post, $"shipments/{replacements[2]}/dispatch");
            await run.ReceiveAllAsync(Site);
            await run.Do(BlindRun.Coordinator(Site), HttpMethod.Post, "subjects/SI-001/randomize", Randomization());
            await run.Do(pharm, HttpMethod.Get, $"sites/{Site}/inventory");
            await run.Do(BlindRun.Manager, HttpMethod.Get, "audit");

            await run.DispatchAllAsync();
            await run.ReceiveAllAsync(Site);
            await run.Do(BlindRun.Coordinator(Site), HttpMethod.Post, "subjects/SI-002/randomize", Randomization());
            return [.. run.Observed.Select(run.Normalize)];
        }

        var a = await Run(sameType: true);
        var b = await Run(sameType: false);
        var diff = a.Zip(b).Select((p, i) => (p, i)).Where(x => x.p.First != x.p.Second).Select(x => $"#{x.i}\nA: {Trim(x.p.First)}\nB: {Trim(x.p.Second)}").Take(4);
        Assert.True(a.SequenceEqual(b), string.Join("\n", diff));
    }

    private static string Trim(string s) => s.Length > 600 ? s[..600] + "…" : s;
}
