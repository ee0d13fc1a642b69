using System.Net;

namespace Iwrs.Functions.Tests.Scenarios;

/// <summary>
/// Non-interference on subject packs, over a trial's first weeks: two sites stocked with starters by the timer, twelve
/// subjects randomized over three weeks and dispensed at every visit from their own packs, packs shipped by the timer
/// on their last day, every shipment dispatched and received, a discontinuation — run twice with the same public
/// actions and different secrets (the list from another seed, kit types reassigned among the same kit numbers). Every
/// blinded observation is compared with each kit placeholder keeping the starter printed on it (a pack's subject is in
/// the bodies themselves): statuses and bodies, SMS texts to blinded phones, the blinded audit view, inventories.
/// </summary>
public sealed class SubjectPackRelabelingTests
{
    private static readonly string[] Sites = ["CN01", "CN02"];
    private static readonly string[] Ecog = ["0", "1"];
    private static readonly string[] Liver = ["yes", "no"];

    [Fact]
    public async Task FirstWeeks_DifferentSecrets_IdenticalBlindedObservables()
    {
        var numbers = BlindSecret.Numbers(240);
        var a = await Scenario(BlindSecret.Drawn(BlindSecret.Seed(31), numbers, 3));
        var b = await Scenario(BlindSecret.Drawn(BlindSecret.Seed(42), numbers, 4));

        Assert.NotEqual(a.Arms, b.Arms);
        BlindAssert.SameObservations([.. a.Observed.Select(SubjectPackStarterTests.UpToKitNumbers)], [.. b.Observed.Select(SubjectPackStarterTests.UpToKitNumbers)]);

        // What the comparison covered: later visits from packs, pack shipments by the timer, retired starters, SMS to blinded phones.
        Assert.Contains(a.Observed, o => o.Contains("/visits/C3/dispense -> 201", StringComparison.Ordinal));
        Assert.Contains(a.Observed, o => o.Contains("\"reason\":\"packs\"", StringComparison.Ordinal));
        Assert.Contains(a.Observed, o => o.Contains("starters.retired", StringComparison.Ordinal));
        Assert.Contains(a.Observed, o => o.StartsWith("sms pharm-", StringComparison.Ordinal));
        Assert.DoesNotContain(a.Observed, o => o.Contains("pack-not-on-site", StringComparison.Ordinal) || o.Contains("supply-hold", StringComparison.Ordinal));
    }

    private sealed record Outcome(List<string> Observed, IReadOnlyList<string> Arms);

    private static async Task<Outcome> Scenario(BlindSecret secret)
    {
        await using var run = await BlindRun.StartAsync(secret, subjectPacks: new() { ["starterSize"] = 4, ["starterTrigger"] = 4, ["packVisits"] = 1 });
        var due = new Dictionary<string, (int Day, int Visit, string Site)>(StringComparer.Ordinal);
        var subjects = new List<string>();
        for (var day = 0; day < 50; day++)
        {
            await run.RunTimersAsync();
            await run.LabelStartersAsync();
            await run.DispatchAllAsync();
            foreach (var site in Sites)
            {
                await run.ReceiveAllAsync(site);
            }

            // Two subjects a week at each site for three weeks, from day 1.
            if (day is >= 1 and <= 21 && day % 4 == 1)
            {
                foreach (var site in Sites)
                {
                    var id = $"{site}-{subjects.Count + 1:D3}";
                    var n = subjects.Count;
                    await run.Ok(BlindRun.Coordinator(site), HttpMethod.Post, $"subjects/{id}/randomize", new
                    {
                        siteId = site,
                        eligibilityConfirmed = true,
                        stratificationFactors = new Dictionary<string, string> { ["ecog"] = Ecog[n % 2], ["liver-mets"] = Liver[(n / 2) % 2] },
                    });
                    subjects.Add(id);
                    due[id] = (day + 21, 2, site);
                }
            }

            foreach (var (id, (when, visit, site)) in due.Where(d => d.Value.Day == day).ToList())
            {
                var (status, _) = await run.Do(BlindRun.Coordinator(site), HttpMethod.Post, $"subjects/{id}/visits/C{visit}/dispense");
                Assert.Equal(HttpStatusCode.Created, status);
                due[id] = (when + 21, visit + 1, site);
            }

            if (day == 30)
            {
                await run.Ok(BlindRun.Coordinator("CN02"), HttpMethod.Post, $"subjects/{subjects[1]}/discontinue", new { reason = "progression" });
                due.Remove(subjects[1]);
            }

            if (day % 7 == 6)
            {
                foreach (var site in Sites)
                {
                    await run.Ok(BlindRun.Pharmacist(site), HttpMethod.Get, $"sites/{site}/inventory");
                }
            }

            run.Clock.Advance(TimeSpan.FromDays(1));
        }

        await run.Ok(BlindRun.Manager, HttpMethod.Get, "audit");
        foreach (var site in Sites)
        {
            await run.Ok(BlindRun.Pharmacist(site), HttpMethod.Get, "shipments");
        }

        return new Outcome(run.Observed, await run.ArmsAsync(subjects));
    }
}
