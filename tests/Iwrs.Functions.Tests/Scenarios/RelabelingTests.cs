using Iwrs.Domain.Supply;
using Microsoft.Extensions.DependencyInjection;

namespace Iwrs.Functions.Tests.Scenarios;

/// <summary>
/// The proof of the blind (non-interference): the blinded study's whole scenario — stocking three sites, randomizing,
/// dispensing over two months of visits, a discontinuation, resupply by timer, every shipment dispatched and received,
/// SMS notices, and site staff at CN03 acting by SMS (randomizing, dispensing, receiving, looking subjects up) — run twice with the same public actions and different secrets (the list from another seed; kit types
/// reassigned among the same kit numbers, the same number of each). Every blinded observable must be identical:
/// statuses and bodies of every response to a blinded user, SMS texts to blinded recipients, the blinded audit view,
/// and shipments' sizes and timing. Kit numbers are replaced with a placeholder first: which kit goes to which subject
/// differs by construction. Every site holds enough stock that none reaches a supply hold (the one acknowledged
/// exception). Run again with the per-type resupply rule, the same comparison fails.
/// </summary>
public sealed class RelabelingTests
{
    private const int Days = 49;
    private const int SubjectsPerSite = 5;
    private static readonly (int Trigger, int Maximum) Levels = (10, 16);
    private static readonly string[] Ecog = ["0", "1"];
    private static readonly string[] Liver = ["yes", "no"];

    /// <summary>The site whose staff act by SMS; the other two use HTTP.</summary>
    private const string SmsSite = "CN03";
    private const string Pin = Sms.SmsHarness.Pin;

    [Fact]
    public async Task WholeScenario_DifferentSecrets_IdenticalBlindedObservables()
    {
        var numbers = BlindSecret.Numbers(240);
        var a = await Scenario(BlindSecret.Drawn(BlindSecret.Seed(101), numbers, 1));
        var b = await Scenario(BlindSecret.Drawn(BlindSecret.Seed(202), numbers, 2));

        Assert.DoesNotContain(a.Observed, o => o.Contains("supply-hold", StringComparison.Ordinal));
        Assert.DoesNotContain(b.Observed, o => o.Contains("supply-hold", StringComparison.Ordinal));
        Assert.NotEqual(a.Arms, b.Arms);
        BlindAssert.SameObservations(a.Observed, b.Observed);

        // What the comparison covered: resupply shipments by timer, SMS to blinded phones, the blinded audit view.
        Assert.Contains(a.Observed, o => o.Contains("\"reason\":\"resupply\"", StringComparison.Ordinal));
        Assert.Contains(a.Observed, o => o.StartsWith("sms pharm-", StringComparison.Ordinal));
        Assert.Contains(a.Observed, o => o.StartsWith("manager GET audit -> 200", StringComparison.Ordinal));
        Assert.Contains(a.Observed, o => o.StartsWith("sms-reply coord-CN03 CODE -> Iwrs LJ-MCRC CN03-", StringComparison.Ordinal) && o.Contains(": randomized, number R", StringComparison.Ordinal));
        Assert.Contains(a.Observed, o => o.StartsWith("sms-reply coord-CN03 DISP", StringComparison.Ordinal) && o.Contains(": dispense kit KIT.", StringComparison.Ordinal));
        Assert.Contains(a.Observed, o => o.StartsWith("sms-reply pharm-CN03 RECV", StringComparison.Ordinal) && o.Contains("kits received ok", StringComparison.Ordinal));
        Assert.Contains(a.Observed, o => o.StartsWith("sms-reply coord-CN03 STATUS", StringComparison.Ordinal) && o.Contains("Next C", StringComparison.Ordinal));
    }

    [Fact]
    public async Task WholeScenario_PerTypeResupplyRule_BlindedObservablesDiffer()
    {
        static void PerType(IServiceCollection s) => s.AddSingleton(Resupply.PerType);
        var numbers = BlindSecret.Numbers(240);
        var a = await Scenario(BlindSecret.Drawn(BlindSecret.Seed(101), numbers, 1), PerType);
        var b = await Scenario(BlindSecret.Drawn(BlindSecret.Seed(202), numbers, 2), PerType);

        BlindAssert.Differ(a.Observed, b.Observed);
    }

    /// <summary>
    /// Attacker review: the list generator adds whole blocks of secret random size until a stratum has the slots asked
    /// for, and a stratum was exhausted at its length, so the subject refused told a blinded coordinator the block sizes
    /// (and where the last block began). Two seeds whose stratum holds 6 and 8 slots for 5 asked: the sixth subject is
    /// refused under both, and every blinded observable is the same.
    /// </summary>
    [Fact]
    public async Task ListExhausted_SeedsWhoseStratumHoldsDifferentBlocks_RefusedAtTheSameSubject()
    {
        const int asked = 5;
        var six = Enumerable.Range(1, 400).First(s => StratumLength(s, asked) == 6);
        var eight = Enumerable.Range(1, 400).First(s => StratumLength(s, asked) == 8);
        var numbers = BlindSecret.Numbers(20);
        var types = string.Concat(Enumerable.Repeat("LP", 10));

        async Task<List<string>> Run(int seed)
        {
            await using var run = await BlindRun.StartAsync(BlindSecret.Spelled(BlindSecret.Seed(seed), numbers, types), (3, 20), slotsPerStratum: asked);
            var shipment = await run.Trial.Ok(BlindRun.Depot, HttpMethod.Post, "shipments", new { siteId = "CN01", kits = new Dictionary<string, int> { ["LJ-CAPS"] = 8, ["PBO-CAPS"] = 8 } });
            await run.Trial.Ok(BlindRun.Depot, HttpMethod.Post, $"shipments/{shipment.GetProperty("shipmentId").GetString()}/dispatch");
            await run.ReceiveAllAsync("CN01");
            var statuses = new List<(int, string?)>();
            for (var i = 1; i <= asked + 2; i++)
            {
                var (status, body) = await run.Do(BlindRun.Coordinator("CN01"), HttpMethod.Post, $"subjects/LEN-{i:D3}/randomize", new { siteId = "CN01", eligibilityConfirmed = true, stratificationFactors = LengthStratum });
                statuses.Add(((int)status, status == System.Net.HttpStatusCode.Conflict ? body.GetProperty("code").GetString() : null));
            }

            Assert.Equal([.. Enumerable.Repeat((201, (string?)null), asked), (409, "list-exhausted"), (409, "list-exhausted")], statuses);
            return [.. run.Observed.Select(run.Normalize)];
        }

        BlindAssert.SameObservations(await Run(six), await Run(eight));
    }

    private static readonly System.Text.Json.JsonSerializerOptions WebJson = new(System.Text.Json.JsonSerializerDefaults.Web);

    private static readonly Dictionary<string, string> LengthStratum = new() { ["ecog"] = "0", ["liver-mets"] = "yes" };

    private static int StratumLength(int seed, int slotsPerStratum)
    {
        var study = Domain.Studies.StudyConfiguration.Create(System.Text.Json.JsonSerializer.Deserialize<Domain.Studies.StudyDefinition>(
            IwrsFactory.StudyFile("lj-mcrc.json"), WebJson)!).Value;
        var stratum = Domain.Randomization.Strata.For(study, "CN01", LengthStratum).Value.Key;
        return Domain.Randomization.ListGenerator.Generate(study, BlindSecret.Seed(seed), slotsPerStratum).Value.Slots.Count(s => s.StratumKey == stratum);
    }

    private static async Task<(List<string> Observed, IReadOnlyList<string> Arms)> Scenario(BlindSecret secret, Action<IServiceCollection>? services = null)
    {
        await using var run = await BlindRun.StartAsync(secret, Levels, services);
        var lastVisit = new Dictionary<string, (int Cycle, int Day)>(StringComparer.Ordinal);
        var enrolled = new List<string>();
        var dispatchDays = new HashSet<int>();
        for (var day = 0; day < Days; day++)
        {
            await run.RunTimersAsync();
            if (await run.DispatchAllAsync() > 0)
            {
                dispatchDays.Add(day);
            }

            // Pharmacists receive what arrives: shipments dispatched the lead time (5 days) ago.
            if (dispatchDays.Contains(day - 5))
            {
                foreach (var site in BlindRun.Sites)
                {
                    await ReceiveArrivedAsync(run, site);
                }
            }

            // A new subject at each site every fourth day once the first kits are in.
            if (day >= 6 && day % 4 == 2 && enrolled.Count < SubjectsPerSite * BlindRun.Sites.Length)
            {
                foreach (var site in BlindRun.Sites)
                {
                    var i = enrolled.Count;
                    var id = $"{site}-{i:D3}";
                    var factors = new Dictionary<string, string> { ["ecog"] = Ecog[i % 2], ["liver-mets"] = Liver[i / 2 % 2] };
                    if (site == SmsSite)
                    {
                        await run.SmsRandomize(BlindRun.Coordinator(site), $"RAND {BlindRun.Study} {id} {site} ecog={factors["ecog"]} liver-mets={factors["liver-mets"]} {Pin}");
                    }
                    else
                    {
                        await run.Ok(BlindRun.Coordinator(site), HttpMethod.Post, $"subjects/{id}/randomize", new { siteId = site, eligibilityConfirmed = true, stratificationFactors = factors });
                    }

                    enrolled.Add(id);
                    lastVisit[id] = (1, day);
                }
            }

            // Visits every 21 days; one subject discontinues on day 30.
            foreach (var (id, (cycle, at)) in lastVisit.ToList())
            {
                var site = id[..4];
                if (day == 30 && id == enrolled[4])
                {
                    await run.Ok(BlindRun.Coordinator(site), HttpMethod.Post, $"subjects/{id}/discontinue", new { reason = "Disease progression" });
                    lastVisit.Remove(id);
                }
                else if (day - at >= 21 && site == SmsSite)
                {
                    await run.Sms(BlindRun.Coordinator(site), $"DISP {BlindRun.Study} {id} C{cycle + 1} {Pin}");
                    lastVisit[id] = (cycle + 1, day);
                }
                else if (day - at >= 21)
                {
                    await run.Ok(BlindRun.Coordinator(site), HttpMethod.Post, $"subjects/{id}/visits/C{cycle + 1}/dispense");
                    lastVisit[id] = (cycle + 1, day);
                }
            }

            // Weekly, every blinded role reads what it can.
            if (day % 7 == 6)
            {
                foreach (var site in BlindRun.Sites)
                {
                    await run.Ok(BlindRun.Pharmacist(site), HttpMethod.Get, $"sites/{site}/inventory");
                    await run.Ok(BlindRun.Pharmacist(site), HttpMethod.Get, "shipments");
                }

                foreach (var id in enrolled)
                {
                    await run.Ok(BlindRun.Coordinator(id[..4]), HttpMethod.Get, $"subjects/{id}");
                    await run.Sms(BlindRun.Coordinator(id[..4]), $"STATUS {BlindRun.Study} {id} {Pin}");
                }

                await run.Sms(BlindRun.Coordinator(SmsSite), "HELP");
            }

            run.Clock.Advance(TimeSpan.FromDays(1));
        }

        await run.Ok(BlindRun.Manager, HttpMethod.Get, "audit");
        await run.Ok(BlindRun.Manager, HttpMethod.Get, "audit/verify");
        await run.Ok(BlindRun.Manager, HttpMethod.Get, "shipments");
        return (run.Observed, await run.ArmsAsync(enrolled));
    }

    /// <summary>The pharmacist receives, all ok, each shipment dispatched at least the lead time ago.</summary>
    private static async Task ReceiveArrivedAsync(BlindRun run, string site)
    {
        var pharmacist = BlindRun.Pharmacist(site);
        var (_, shipments) = await run.Trial.Send(pharmacist, HttpMethod.Get, "shipments");
        foreach (var shipment in shipments.EnumerateArray().Where(s => s.GetProperty("status").GetString() == "dispatched"))
        {
            if (shipment.GetProperty("dispatchedAt").GetDateTimeOffset().AddDays(5) <= run.Clock.GetUtcNow() && site == SmsSite)
            {
                await run.Sms(pharmacist, $"RECV {BlindRun.Study} {shipment.GetProperty("shipmentId").GetString()} {Pin}");
            }
            else if (shipment.GetProperty("dispatchedAt").GetDateTimeOffset().AddDays(5) <= run.Clock.GetUtcNow())
            {
                var kits = shipment.GetProperty("kits").EnumerateArray().Select(k => new { kitNumber = k.GetProperty("kitNumber").GetString(), condition = "ok" }).ToList();
                await run.Ok(pharmacist, HttpMethod.Post, $"shipments/{shipment.GetProperty("shipmentId").GetString()}/receive", new { kits });
            }
        }
    }
}
