using System.Net;
using System.Text.Json.Nodes;

namespace Iwrs.Functions.Tests.Scenarios;

/// <summary>
/// The four attacks of <see cref="BlindAdversaryTests"/> by a blinded site team, on subject packs: receipt-order probing,
/// selective damaged or missing reports (at receipt and from the shelf) followed by randomize attempts, shipment sizes
/// and timing against what the site counts, and refusals compared across arms. Each runs under two secrets that share
/// the public facts; "gains nothing" means every observation is the same in both, each kit placeholder keeping the
/// starter printed on it.
/// </summary>
public sealed class SubjectPackAdversaryTests
{
    private const string Site = "CN01";
    private static readonly string[] Ecog = ["0", "1"];
    private static readonly string[] Liver = ["yes", "no"];

    private static object Request(int i) => new
    {
        siteId = Site,
        eligibilityConfirmed = true,
        stratificationFactors = new Dictionary<string, string> { ["ecog"] = Ecog[i % 2], ["liver-mets"] = Liver[(i / 2) % 2] },
    };

    [Fact]
    public async Task ReceiptOrder_SelectiveReports_ShipmentArithmetic_RefusalsAcrossArms_GainNothing()
    {
        var numbers = BlindSecret.Numbers(160);
        var a = await Attack(BlindSecret.Drawn(BlindSecret.Seed(5), numbers, 5));
        var b = await Attack(BlindSecret.Drawn(BlindSecret.Seed(6), numbers, 6));

        Assert.NotEqual(a.Arms, b.Arms);
        BlindAssert.SameObservations([.. a.Observed.Select(SubjectPackStarterTests.UpToKitNumbers)], [.. b.Observed.Select(SubjectPackStarterTests.UpToKitNumbers)]);

        // The attacks ran: refusals while kits were received one at a time, randomizations after, a hold at the end
        // refused alike for subjects of both arms.
        Assert.Contains(a.Observed, o => o.Contains("PK-000/randomize -> 409", StringComparison.Ordinal));
        Assert.Contains(a.Observed, o => o.Contains("/randomize -> 201", StringComparison.Ordinal));
        Assert.True(a.Observed.Count(o => o.Contains("/randomize -> 409", StringComparison.Ordinal) && o.Contains("supply-hold", StringComparison.Ordinal)) >= 4);
    }

    private sealed record Outcome(List<string> Observed, IReadOnlyList<string> Arms);

    private static async Task<Outcome> Attack(BlindSecret secret)
    {
        await using var run = await BlindRun.StartAsync(secret, subjectPacks: new JsonObject { ["starterSize"] = 4, ["starterTrigger"] = 8, ["packVisits"] = 1 });
        await run.RunTimersAsync();
        await run.LabelStartersAsync();
        await run.DispatchAllAsync();
        var pharmacist = BlindRun.Pharmacist(Site);
        var coordinator = BlindRun.Coordinator(Site);
        var shipment = (await run.Ok(pharmacist, HttpMethod.Get, "shipments")).EnumerateArray().Single();
        var id = shipment.GetProperty("shipmentId").GetString()!;
        var kits = shipment.GetProperty("kits").EnumerateArray().Select(k => (Number: k.GetProperty("kitNumber").GetString()!, Starter: k.GetProperty("starter").GetString()!)).ToList();

        // Attack 1 and 2: kits received one at a time, a randomization tried after each, starter by starter (which
        // kit numbers share a starter differs between the runs by construction, so the order is chosen on what the
        // site sees: the printed starter, then the number); the two lowest-numbered kits of the second starter
        // reported damaged.
        var damaged = kits.Where(k => k.Starter == $"{id}-2").Select(k => k.Number).Order(StringComparer.Ordinal).Take(2).ToHashSet(StringComparer.Ordinal);
        var subjects = new List<string>();
        var n = 0;
        foreach (var (number, _) in kits.OrderBy(k => k.Starter, StringComparer.Ordinal).ThenBy(k => k.Number, StringComparer.Ordinal))
        {
            await run.Do(pharmacist, HttpMethod.Post, $"shipments/{id}/receive", new { kits = new[] { new { kitNumber = number, condition = damaged.Contains(number) ? "damaged" : "ok" } } });
            await Randomize(n++);
            await run.Do(pharmacist, HttpMethod.Get, $"sites/{Site}/inventory");
        }

        await run.Trial.Ok(BlindRun.Depot, HttpMethod.Post, $"shipments/{id}/release");

        // Attack 2, from the shelf: the lowest-numbered kit left of the third starter reported missing.
        var inventory = await run.Ok(pharmacist, HttpMethod.Get, $"sites/{Site}/inventory");
        var missing = inventory.GetProperty("kits").EnumerateArray().Where(k => k.GetProperty("starter").GetString() == $"{id}-3").Select(k => k.GetProperty("kitNumber").GetString()!).Order(StringComparer.Ordinal).First();
        await run.Do(pharmacist, HttpMethod.Post, $"sites/{Site}/kits/{missing}/report", new { condition = "missing", reason = "not found" });

        // Attack 3: randomizations until the starters run out, a timer run between each (what ships, and when, against the shelf).
        for (var i = 0; i < 8; i++)
        {
            var (status, _) = await Randomize(n++);
            if (status == HttpStatusCode.Conflict)
            {
                break;
            }

            await run.RunTimersAsync();
            await run.Do(pharmacist, HttpMethod.Get, "shipments");
        }

        // Attack 4: on hold, the next subjects (whose list slots differ in arm between the secrets) are refused alike.
        for (var i = 0; i < 4; i++)
        {
            var (status, _) = await Randomize(n++);
            Assert.Equal(HttpStatusCode.Conflict, status);
        }

        await run.Ok(BlindRun.Manager, HttpMethod.Get, "audit");
        return new Outcome(run.Observed, await run.ArmsAsync(subjects));

        async Task<(HttpStatusCode, System.Text.Json.JsonElement)> Randomize(int i)
        {
            var subject = $"PK-{i:D3}";
            var answer = await run.Do(coordinator, HttpMethod.Post, $"subjects/{subject}/randomize", Request(i));
            if (answer.Status == HttpStatusCode.Created)
            {
                subjects.Add(subject);
            }

            return answer;
        }
    }
}
