using Iwrs.Domain.Randomization;
using Iwrs.Domain.Supply;
using Iwrs.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Iwrs.Functions.Tests.Scenarios;

/// <summary>
/// Attacks a blinded site team can make with ordinary API calls on the blinded seed study. Each runs twice, under two
/// secrets that share the public facts (the same kit numbers, the same count of each type); "gains nothing" means the
/// sequence of everything the team observes is the same in both runs.
/// </summary>
public sealed class BlindAdversaryTests
{
    private const string Site = "CN01";
    private static readonly Dictionary<string, string> Stratum = new() { ["ecog"] = "0", ["liver-mets"] = "yes" };

    private static object Randomization(string site = Site) => new { siteId = site, eligibilityConfirmed = true, stratificationFactors = Stratum };

    private static async Task<List<string>> Observe(BlindSecret secret, Func<BlindRun, Task> attack, (int, int)? supply = null, Action<IServiceCollection>? services = null)
    {
        await using var run = await BlindRun.StartAsync(secret, supply, services);
        await attack(run);
        return run.Observed;
    }

    /// <summary>The depot's shipment of all eight kits (4 + 4) to the site, dispatched; its kit numbers as the pharmacist lists them.</summary>
    private static async Task<(string Id, List<string> Numbers)> ShipEverything(BlindRun run)
    {
        var shipment = await run.Trial.Ok(BlindRun.Depot, HttpMethod.Post, "shipments", new { siteId = Site, kits = new Dictionary<string, int> { ["LJ-CAPS"] = 4, ["PBO-CAPS"] = 4 } });
        var id = shipment.GetProperty("shipmentId").GetString()!;
        await run.Trial.Ok(BlindRun.Depot, HttpMethod.Post, $"shipments/{id}/dispatch");
        var listed = await run.Ok(BlindRun.Pharmacist(Site), HttpMethod.Get, "shipments");
        return (id, [.. listed[0].GetProperty("kits").EnumerateArray().Select(k => k.GetProperty("kitNumber").GetString()!)]);
    }

    /// <summary>
    /// <see cref="ShipEverything"/>, <paramref name="spare"/> kits at the depot for replacements, and the pharmacist's
    /// receipt of the shipment with its first <paramref name="reported"/> kits (in number order) as <paramref name="condition"/>.
    /// </summary>
    private static async Task<(string Id, List<string> Numbers)> ShipAndReport(BlindRun run, IReadOnlyList<(string Number, string Type)> spare, int reported, string condition)
    {
        var (id, kits) = await ShipEverything(run);
        await run.ImportMoreAsync(spare);
        await run.Do(BlindRun.Pharmacist(Site), HttpMethod.Post, $"shipments/{id}/receive", new
        {
            kits = kits.Select((k, i) => new { kitNumber = k, condition = i < reported ? condition : "ok" }),
        });
        return (id, kits);
    }

    /// <summary>
    /// Attack 1: the pharmacist receives one kit at a time and the coordinator tries a randomization after each. Under
    /// the old rules the first success came once both types were on the shelf, which sorted the kits into two same-type
    /// groups. The two secrets differ exactly there: the second kit in number order is a probiotic in one, a placebo in
    /// the other.
    /// </summary>
    [Fact]
    public async Task ReceiptOrderProbing_GainsNothing()
    {
        var numbers = BlindSecret.Numbers(8);
        async Task Attack(BlindRun run)
        {
            var (id, kits) = await ShipEverything(run);
            for (var i = 0; i < kits.Count; i++)
            {
                await run.Do(BlindRun.Pharmacist(Site), HttpMethod.Post, $"shipments/{id}/receive", new { kits = new[] { new { kitNumber = kits[i], condition = "ok" } } });
                await run.Do(BlindRun.Coordinator(Site), HttpMethod.Post, $"subjects/ORA-{i:D3}/randomize", Randomization());
                await run.Do(BlindRun.Pharmacist(Site), HttpMethod.Get, $"sites/{Site}/inventory");
            }

            await run.Do(BlindRun.Coordinator(Site), HttpMethod.Post, "subjects/ORA-100/randomize", Randomization());
        }

        var a = await Observe(BlindSecret.Spelled(BlindSecret.Seed(1), numbers, "LLPLPPLP"), Attack);
        var b = await Observe(BlindSecret.Spelled(BlindSecret.Seed(1), numbers, "LPLLPPPL"), Attack);

        BlindAssert.SameObservations(a, b);
        Assert.Contains(a, o => o.Contains("supply-hold", StringComparison.Ordinal));
        Assert.Contains(a, o => o.Contains("ORA-100/randomize -> 201", StringComparison.Ordinal));
    }

    /// <summary>The depot manager's (unblinded) per-type count of dispensable kits at the site: what a stock-out would follow.</summary>
    private static async Task<string> PerType(BlindRun run) =>
        (await run.Trial.Ok(BlindRun.Depot, HttpMethod.Get, $"sites/{Site}/inventory")).GetProperty("availableByKitType").GetRawText();

    /// <summary>
    /// Attack 2: the pharmacist reports two chosen kits damaged (or missing), the rest ok, and the coordinator tries to
    /// randomize. Under the first rules the ok kits went on the shelf at once, so whether randomizations succeeded told
    /// whether the reported kits were of one type. The secrets differ exactly there: both reported kits are probiotic in
    /// one, one of each in the other. The replacement (the lost kits' types plus one of each, four kits: a public count)
    /// is ordered with the receipt; the shipment waits for the depot manager, and released, its ok kits (2 + 4 in one
    /// secret, 3 + 3 in the other) are set aside until the replacement is released, when all ten reach the shelf: 5 + 5
    /// in both. Had its ok kits reached the shelf at release, the next stock-out would come for the probiotic first in
    /// one secret only.
    /// </summary>
    [Theory]
    [InlineData("damaged")]
    [InlineData("missing")]
    public async Task SelectiveDamageReports_GainNothing(string condition)
    {
        var numbers = BlindSecret.Numbers(8);
        var spare = BlindSecret.Drawn([], BlindSecret.Numbers(24), 5).Kits;
        var perType = new List<List<string>>();
        async Task Attack(BlindRun run)
        {
            var counts = new List<string>();
            perType.Add(counts);
            var (id, _) = await ShipAndReport(run, spare, 2, condition);
            for (var i = 0; i < 2; i++)
            {
                await run.Do(BlindRun.Coordinator(Site), HttpMethod.Post, $"subjects/DMG-{i:D3}/randomize", Randomization());
                await run.Do(BlindRun.Pharmacist(Site), HttpMethod.Get, $"sites/{Site}/inventory");
            }

            await run.Do(BlindRun.Pharmacist(Site), HttpMethod.Get, "shipments");
            await run.Trial.Ok(BlindRun.Depot, HttpMethod.Post, $"shipments/{id}/release");
            counts.Add(await PerType(run));
            await run.Do(BlindRun.Pharmacist(Site), HttpMethod.Get, $"sites/{Site}/inventory");
            await run.Do(BlindRun.Coordinator(Site), HttpMethod.Post, "subjects/DMG-010/randomize", Randomization());
            await run.Do(BlindRun.Pharmacist(Site), HttpMethod.Get, "shipments");
            await run.DispatchAllAsync();
            await run.ReceiveAllAsync(Site);
            counts.Add(await PerType(run));
            for (var i = 20; i < 26; i++)
            {
                await run.Do(BlindRun.Coordinator(Site), HttpMethod.Post, $"subjects/DMG-{i:D3}/randomize", Randomization());
                await run.Do(BlindRun.Pharmacist(Site), HttpMethod.Get, $"sites/{Site}/inventory");
            }

            await run.Do(BlindRun.Pharmacist(Site), HttpMethod.Get, "shipments");
            await run.Do(BlindRun.Manager, HttpMethod.Get, "audit");
        }

        var a = await Observe(BlindSecret.Spelled(BlindSecret.Seed(2), numbers, "LLPPLPPL"), Attack);
        var b = await Observe(BlindSecret.Spelled(BlindSecret.Seed(2), numbers, "LPLPLPLP"), Attack);

        BlindAssert.SameObservations(a, b);
        Assert.Equal(perType[0], perType[1]);
        Assert.Equal("{}", perType[0][0]);
        Assert.Contains("\"LJ-CAPS\":5", perType[0][1], StringComparison.Ordinal);
        Assert.Contains(a, o => o.Contains("awaiting-release", StringComparison.Ordinal));
        Assert.Contains(a, o => o.Contains("\"reason\":\"replacement\",\"kitCount\":4", StringComparison.Ordinal));
    }

    /// <summary>
    /// Two losses with their replacements on the way (attacker review). The pharmacist reports two chosen kits damaged
    /// on receipt (replacement 1, 2 + 2 kits; released by the depot, its six ok kits set aside) and then a third, one of
    /// the set-aside kits, missing (replacement 2, 1 + 2 kits; the site on hold, no kit on the shelf to stand in).
    /// Replacement 2 is received first. The secrets differ in the lost kits' types: in one both damaged kits are
    /// probiotic and the missing one placebo, in the other one of each and a probiotic. Replacement 2's kits wait with
    /// the set-aside kits, so the hold stands until replacement 1 is released and the types are level after each
    /// release in both secrets; everything the site sees is the same.
    /// </summary>
    [Fact]
    public async Task OverlappingReplacements_EachReturnsItsOwnSetAsideKits()
    {
        var numbers = BlindSecret.Numbers(8);
        var spare = BlindSecret.Drawn([], BlindSecret.Numbers(24), 7).Kits;
        var perType = new List<List<string>>();
        async Task Attack(BlindRun run)
        {
            var counts = new List<string>();
            perType.Add(counts);
            var (id, kits) = await ShipAndReport(run, spare, 2, "damaged");
            await run.Trial.Ok(BlindRun.Depot, HttpMethod.Post, $"shipments/{id}/release");
            await run.Do(BlindRun.Pharmacist(Site), HttpMethod.Post, $"sites/{Site}/kits/{kits[2]}/report", new { condition = "missing", reason = "not in the fridge" });
            counts.Add(await PerType(run));
            await run.Do(BlindRun.Pharmacist(Site), HttpMethod.Get, "shipments");

            // The depot dispatches the second replacement first (the unblinded depot's choice, the same in both runs).
            var replacements = (await run.Trial.Ok(BlindRun.Depot, HttpMethod.Get, "shipments")).EnumerateArray()
                .Where(s => s.GetProperty("reason").GetString() == "replacement")
                .Select(s => s.GetProperty("shipmentId").GetString()!)
                .Order(StringComparer.Ordinal).ToList();
            Assert.Equal(2, replacements.Count);
            await run.Trial.Ok(BlindRun.Depot, HttpMethod.Post, $"shipments/{replacements[1]}/dispatch");
            await run.ReceiveAllAsync(Site);
            counts.Add(await PerType(run));
            await run.Do(BlindRun.Coordinator(Site), HttpMethod.Post, "subjects/OVR-001/randomize", Randomization());
            await run.Do(BlindRun.Pharmacist(Site), HttpMethod.Get, $"sites/{Site}/inventory");

            await run.DispatchAllAsync();
            await run.ReceiveAllAsync(Site);
            counts.Add(await PerType(run));
            await run.Do(BlindRun.Coordinator(Site), HttpMethod.Post, "subjects/OVR-002/randomize", Randomization());
            await run.Do(BlindRun.Manager, HttpMethod.Get, "audit");
        }

        var a = await Observe(BlindSecret.Spelled(BlindSecret.Seed(3), numbers, "LLPLLPPP"), Attack);
        var b = await Observe(BlindSecret.Spelled(BlindSecret.Seed(3), numbers, "LPLLPPLP"), Attack);

        BlindAssert.SameObservations(a, b);
        Assert.Equal(perType[0], perType[1]);
        Assert.Contains(a, o => o.Contains("OVR-001/randomize -> 409", StringComparison.Ordinal) && o.Contains("supply-hold", StringComparison.Ordinal));
        Assert.Contains(a, o => o.Contains("OVR-002/randomize -> 201", StringComparison.Ordinal));
    }

    private static readonly System.Text.Json.JsonSerializerOptions WebJson = new(System.Text.Json.JsonSerializerDefaults.Web);

    /// <summary>The first arms of the site's stratum in the list drawn from seed <paramref name="seed"/>.</summary>
    private static List<string> FirstArms(int seed, int count)
    {
        var study = Iwrs.Domain.Studies.StudyConfiguration.Create(System.Text.Json.JsonSerializer.Deserialize<Iwrs.Domain.Studies.StudyDefinition>(IwrsFactory.StudyFile("lj-mcrc.json"), WebJson)).Value;
        var stratum = Strata.For(study, Site, Stratum).Value.Key;
        return [.. ListGenerator.Generate(study, BlindSecret.Seed(seed), 40).Value.Slots.Where(s => s.StratumKey == stratum).Take(count).Select(s => s.ArmCode)];
    }

    /// <summary>
    /// Threshold probing with a shelf report (attacker review of the first set-aside rule, where every type fell by the
    /// number lost and a hold started only if that left a type short). Shelf 3 + 3, two subjects randomized, then the
    /// pharmacist reports one shelf kit missing. Under that rule the same two arms (1 + 3 left) held the site and two
    /// different arms (2 + 2) did not, so one report told whether two subjects share an arm. The secrets are two list
    /// seeds, one of each kind. Now a shelf report holds the site whatever the kit and the stock.
    /// </summary>
    [Fact]
    public async Task ShelfReport_DoesNotTellWhetherTwoSubjectsShareAnArm()
    {
        var same = Enumerable.Range(1, 200).First(s => FirstArms(s, 2) is [var x, var y] && x == y);
        var differ = Enumerable.Range(1, 200).First(s => FirstArms(s, 2) is [var x, var y] && x != y);
        var numbers = BlindSecret.Numbers(20);
        var types = string.Concat(Enumerable.Repeat("LP", 10));
        async Task<List<string>> Run(int seed)
        {
            await using var run = await BlindRun.StartAsync(BlindSecret.Spelled(BlindSecret.Seed(seed), numbers, types));
            var first = await run.Trial.Ok(BlindRun.Depot, HttpMethod.Post, "shipments", new { siteId = Site, kits = new Dictionary<string, int> { ["LJ-CAPS"] = 3, ["PBO-CAPS"] = 3 } });
            await run.Trial.Ok(BlindRun.Depot, HttpMethod.Post, $"shipments/{first.GetProperty("shipmentId").GetString()}/dispatch");
            await run.ReceiveAllAsync(Site);
            await run.Ok(BlindRun.Coordinator(Site), HttpMethod.Post, "subjects/HLD-001/randomize", Randomization());
            await run.Ok(BlindRun.Coordinator(Site), HttpMethod.Post, "subjects/HLD-002/randomize", Randomization());
            var shelf = (await run.Ok(BlindRun.Pharmacist(Site), HttpMethod.Get, $"sites/{Site}/inventory")).GetProperty("kits").EnumerateArray().Select(k => k.GetProperty("kitNumber").GetString()!).ToList();
            await run.Do(BlindRun.Pharmacist(Site), HttpMethod.Post, $"sites/{Site}/kits/{shelf[0]}/report", new { condition = "missing", reason = "not in the fridge" });
            await run.Do(BlindRun.Pharmacist(Site), HttpMethod.Get, $"sites/{Site}/inventory");
            await run.Do(BlindRun.Coordinator(Site), HttpMethod.Post, "subjects/HLD-003/randomize", Randomization());
            await run.Do(BlindRun.Pharmacist(Site), HttpMethod.Get, "shipments");
            await run.Do(BlindRun.Manager, HttpMethod.Get, "audit");

            // The reported kit's number is in a path: placeholders, as in the bodies.
            return [.. run.Observed.Select(run.Normalize)];
        }

        var a = await Run(same);
        var b = await Run(differ);
        BlindAssert.SameObservations(a, b);
        Assert.Contains(a, o => o.Contains("HLD-003/randomize -> 409", StringComparison.Ordinal) && o.Contains("supply-hold", StringComparison.Ordinal));
    }

    /// <summary>
    /// A loss's replacement at a depot short of one type (attacker review). The depot has 3 probiotic kits and 1 placebo
    /// left; the pharmacist reports one shelf kit missing, a probiotic in one secret and a placebo in the other. A
    /// replacement picked as "the lost kit's type plus one of each" could ship only in the first; it is made up from the
    /// other types like every automatic blinded order, so it ships in both, and an unreplaced loss no longer stops the
    /// site's own resupply.
    /// </summary>
    [Fact]
    public async Task ReplacementAtADepotShortOfOneType_ShipsWhicheverKitWasLost()
    {
        var numbers = BlindSecret.Numbers(12);
        var secret = BlindSecret.Spelled(BlindSecret.Seed(7), numbers, "LPLPLPLPLLLP");
        async Task<List<string>> Run(string reportedType)
        {
            await using var run = await BlindRun.StartAsync(secret, (8, 10));
            var first = await run.Trial.Ok(BlindRun.Depot, HttpMethod.Post, "shipments", new { siteId = Site, kits = new Dictionary<string, int> { ["LJ-CAPS"] = 4, ["PBO-CAPS"] = 4 } });
            await run.Trial.Ok(BlindRun.Depot, HttpMethod.Post, $"shipments/{first.GetProperty("shipmentId").GetString()}/dispatch");
            await run.ReceiveAllAsync(Site);
            await run.Do(BlindRun.Pharmacist(Site), HttpMethod.Get, $"sites/{Site}/inventory");
            var typed = (await run.Trial.Ok(BlindRun.Depot, HttpMethod.Get, $"sites/{Site}/inventory")).GetProperty("kits").EnumerateArray()
                .Where(k => k.GetProperty("kitType").GetString() == reportedType).Select(k => k.GetProperty("kitNumber").GetString()!).Order(StringComparer.Ordinal).ToList();
            await run.Do(BlindRun.Pharmacist(Site), HttpMethod.Post, $"sites/{Site}/kits/{typed[0]}/report", new { condition = "missing", reason = "not in the fridge" });
            await run.RunTimersAsync();
            await run.Do(BlindRun.Pharmacist(Site), HttpMethod.Get, "shipments");
            await run.Do(BlindRun.Pharmacist(Site), HttpMethod.Get, $"sites/{Site}/inventory");
            return [.. run.Observed.Select(run.Normalize)];
        }

        var a = await Run("LJ-CAPS");
        var b = await Run("PBO-CAPS");
        BlindAssert.SameObservations(a, b);
        Assert.Contains(a, o => o.Contains("\"reason\":\"replacement\",\"kitCount\":3", StringComparison.Ordinal));
    }

    /// <summary>
    /// Attack 3: the pharmacist knows the shelf total and watches the size of each resupply shipment. Under the per-type
    /// rule a shipment's size stopped being "maximum − total" once one type was at its maximum, which let the pharmacist
    /// solve for both stocks. Two list seeds are chosen so that the site's per-type stock differs between the runs while
    /// its total never does (and neither type runs out); the per-type rule, run the same way, tells them apart.
    /// </summary>
    [Fact]
    public async Task ResupplyArithmetic_GainsNothing()
    {
        (int Trigger, int Maximum) levels = (6, 8);
        const int Subjects = 11;
        var (seedA, seedB) = SeedsWithDifferentPerTypeStock(levels, Subjects);
        var numbers = BlindSecret.Numbers(60);
        async Task Attack(BlindRun run)
        {
            var shipment = await run.Trial.Ok(BlindRun.Depot, HttpMethod.Post, "shipments", new { siteId = Site, kits = new Dictionary<string, int> { ["LJ-CAPS"] = 8, ["PBO-CAPS"] = 8 } });
            await run.Trial.Ok(BlindRun.Depot, HttpMethod.Post, $"shipments/{shipment.GetProperty("shipmentId").GetString()}/dispatch");
            await run.ReceiveAllAsync(Site);
            for (var i = 0; i < Subjects; i++)
            {
                await run.Ok(BlindRun.Coordinator(Site), HttpMethod.Post, $"subjects/RSA-{i:D3}/randomize", Randomization());
                await run.RunTimersAsync();
                await run.Do(BlindRun.Pharmacist(Site), HttpMethod.Get, "shipments");
                await run.Do(BlindRun.Pharmacist(Site), HttpMethod.Get, $"sites/{Site}/inventory");
            }

            await run.Do(BlindRun.Manager, HttpMethod.Get, "audit");
        }

        var a = await Observe(BlindSecret.Drawn(BlindSecret.Seed(seedA), numbers, 31), Attack, levels);
        var b = await Observe(BlindSecret.Drawn(BlindSecret.Seed(seedB), numbers, 32), Attack, levels);
        BlindAssert.SameObservations(a, b);
        Assert.Contains(a, o => o.Contains("\"reason\":\"resupply\"", StringComparison.Ordinal));

        // The same attack against the per-type rule tells the two secrets apart: the test can fail.
        static void PerType(IServiceCollection s) => s.AddSingleton(Resupply.PerType);
        var oldA = await Observe(BlindSecret.Drawn(BlindSecret.Seed(seedA), numbers, 31), Attack, levels, PerType);
        var oldB = await Observe(BlindSecret.Drawn(BlindSecret.Seed(seedB), numbers, 32), Attack, levels, PerType);
        BlindAssert.Differ(oldA, oldB);
    }

    /// <summary>
    /// Attacker review 8: kit types of one shipment expiring apart. The depot picks first expiry first; picking each type
    /// on its own, a valid list (lot LOT-E1, 2026-05-01, with 4 probiotic and 1 placebo kits, of which CN02's shipment
    /// takes one of each) left the site's shipment with three probiotic kits of that early date and three placebo kits
    /// of 2028. Counted by their own dates, the early kits left the resupply count together 18 days on, as many as the
    /// probiotic subjects left unused: whether the site got a shipment then told whether its two subjects were on the
    /// probiotic. A blinded shipment's kits now all come from one date (<see cref="DepotPick"/>).
    /// </summary>
    [Fact]
    public async Task TypesOfAShipmentExpiringApart_ResupplyTellsNothing()
    {
        var seedLj = Enumerable.Range(1, 400).First(s => FirstArms(s, 2) is ["LJ", "LJ"]);
        var seedPbo = Enumerable.Range(1, 400).First(s => FirstArms(s, 2) is ["PBO", "PBO"]);
        var numbers = BlindSecret.Numbers(20);
        var early = BlindSecret.Numbers(5).Select((n, i) => ("E" + n, i < 4 ? "LJ-CAPS" : "PBO-CAPS")).ToList();
        var types = string.Concat(Enumerable.Repeat("LP", 10));
        var shelfDates = new List<HashSet<string>>();
        async Task<List<string>> Run(int seed)
        {
            await using var run = await BlindRun.StartAsync(BlindSecret.Spelled(BlindSecret.Seed(seed), numbers, types), (3, 6));
            await run.ImportMoreAsync(early, "LOT-E1", "2026-05-01");
            var other = await run.Trial.Ok(BlindRun.Depot, HttpMethod.Post, "shipments", new { siteId = "CN02", kits = new Dictionary<string, int> { ["LJ-CAPS"] = 1, ["PBO-CAPS"] = 1 } });
            await run.Trial.Ok(BlindRun.Depot, HttpMethod.Post, $"shipments/{other.GetProperty("shipmentId").GetString()}/dispatch");
            var mine = await run.Trial.Ok(BlindRun.Depot, HttpMethod.Post, "shipments", new { siteId = Site, kits = new Dictionary<string, int> { ["LJ-CAPS"] = 3, ["PBO-CAPS"] = 3 } });
            await run.Trial.Ok(BlindRun.Depot, HttpMethod.Post, $"shipments/{mine.GetProperty("shipmentId").GetString()}/dispatch");
            await run.ReceiveAllAsync(Site);
            await run.RunTimersAsync();
            await run.Ok(BlindRun.Coordinator(Site), HttpMethod.Post, "subjects/EXP-001/randomize", Randomization());
            await run.Ok(BlindRun.Coordinator(Site), HttpMethod.Post, "subjects/EXP-002/randomize", Randomization());
            await run.RunTimersAsync();
            await run.Do(BlindRun.Pharmacist(Site), HttpMethod.Get, "shipments");
            await run.Do(BlindRun.Pharmacist(Site), HttpMethod.Get, $"sites/{Site}/inventory");
            run.Clock.Advance(TimeSpan.FromDays(18));
            await run.RunTimersAsync();
            await run.Do(BlindRun.Pharmacist(Site), HttpMethod.Get, "shipments");
            await run.Do(BlindRun.Pharmacist(Site), HttpMethod.Get, $"sites/{Site}/inventory");
            await run.Do(BlindRun.Manager, HttpMethod.Get, "audit");
            var shelf = await run.Trial.Ok(BlindRun.Depot, HttpMethod.Get, $"sites/{Site}/inventory");
            shelfDates.Add([.. shelf.GetProperty("kits").EnumerateArray().Select(k => k.GetProperty("expiry").GetString()!)]);
            return run.Observed;
        }

        var a = await Run(seedLj);
        var b = await Run(seedPbo);
        BlindAssert.SameObservations(a, b);

        // The site's kits all came from the one date that could fill the shipment (the depot manager sees dates).
        Assert.All(shelfDates, dates => Assert.Equal(["2028-06-30"], dates));
    }

    /// <summary>
    /// The depot manager's own shipment in a blinded study comes from one batch too: asked for 4 + 2 when no batch holds
    /// that mix, it is refused with each batch's counts (the depot manager is unblinded); 2 + 2 comes from the only
    /// batch that could hold any mix of four kits (3 of each), the late one, not the early one holding 2 + 1 at most.
    /// </summary>
    [Fact]
    public async Task DepotManagersShipment_AllFromOneDate_OrRefusedWithTheDates()
    {
        var numbers = BlindSecret.Numbers(6);
        var early = BlindSecret.Numbers(5).Select((n, i) => ("E" + n, i < 4 ? "LJ-CAPS" : "PBO-CAPS")).ToList();
        await using var run = await BlindRun.StartAsync(BlindSecret.Spelled(BlindSecret.Seed(11), numbers, "LPLPLP"));
        await run.ImportMoreAsync(early, "LOT-E1", "2026-05-01");

        var (status, body) = await run.Trial.Send(BlindRun.Depot, HttpMethod.Post, "shipments", new { siteId = Site, kits = new Dictionary<string, int> { ["LJ-CAPS"] = 4, ["PBO-CAPS"] = 2 } });
        Assert.Equal(System.Net.HttpStatusCode.Conflict, status);
        Assert.Equal("not-enough-stock", body.GetProperty("code").GetString());
        Assert.Contains("LOT-E1 2026-05-01: 4 of 4, 1 of 2; LOT-1 2028-06-30: 3 of 4, 3 of 2", body.GetProperty("detail").GetString(), StringComparison.Ordinal);

        var shipment = await run.Trial.Ok(BlindRun.Depot, HttpMethod.Post, "shipments", new { siteId = Site, kits = new Dictionary<string, int> { ["LJ-CAPS"] = 2, ["PBO-CAPS"] = 2 } });
        await run.Trial.Ok(BlindRun.Depot, HttpMethod.Post, $"shipments/{shipment.GetProperty("shipmentId").GetString()}/dispatch");
        await run.ReceiveAllAsync(Site);
        var shelf = await run.Trial.Ok(BlindRun.Depot, HttpMethod.Get, $"sites/{Site}/inventory");
        var kits = shelf.GetProperty("kits").EnumerateArray().ToList();
        Assert.Equal(4, kits.Count);
        Assert.All(kits, k => Assert.Equal("2028-06-30", k.GetProperty("expiry").GetString()));
    }

    /// <summary>
    /// Attacker review 10: depot rows written before index rows carried the lot. Two lots of one date (each with both
    /// types, 1 + 5 and 5 + 1) were one batch to the pick, which then took one lot's probiotic and the other's placebo
    /// kits, and the printed lot typed every bottle. The lot now comes from the kit row: the shipment takes the only lot
    /// that could hold any mix of it.
    /// </summary>
    [Fact]
    public async Task DepotRowsWithoutTheLot_ShipmentStillFromOneLot()
    {
        var numbers = BlindSecret.Numbers(6);
        await using var run = await BlindRun.StartAsync(BlindSecret.Spelled(BlindSecret.Seed(11), numbers, "LPLPLP"));
        await run.ImportMoreAsync([.. BlindSecret.Numbers(6).Select((n, i) => ("A" + n, i < 1 ? "LJ-CAPS" : "PBO-CAPS"))], "LOT-A", "2026-05-01");
        await run.ImportMoreAsync([.. BlindSecret.Numbers(6).Select((n, i) => ("B" + n, i < 5 ? "LJ-CAPS" : "PBO-CAPS"))], "LOT-B", "2026-05-01");
        var table = await run.App.Services.GetRequiredService<Iwrs.Storage.Stores.IwrsTable>().GetAsync(CancellationToken.None);
        var stripped = 0;
        await foreach (var row in table.QueryAsync<Azure.Data.Tables.TableEntity>(x => x.PartitionKey == BlindRun.Study))
        {
            if (row.RowKey.StartsWith(Iwrs.Storage.Stores.KitRows.DepotPrefix, StringComparison.Ordinal) && row.Remove("Lot"))
            {
                await table.UpdateEntityAsync(row, row.ETag, Azure.Data.Tables.TableUpdateMode.Replace);
                stripped++;
            }
        }

        var shipment = await run.Trial.Ok(BlindRun.Depot, HttpMethod.Post, "shipments", new { siteId = Site, kits = new Dictionary<string, int> { ["LJ-CAPS"] = 2, ["PBO-CAPS"] = 2 } });

        Assert.Equal(18, stripped);
        var lots = new HashSet<string>();
        foreach (var kit in shipment.GetProperty("kits").EnumerateArray())
        {
            lots.Add((await Iwrs.Storage.Stores.KitRows.GetAsync(table, BlindRun.Study, kit.GetProperty("kitNumber").GetString()!, CancellationToken.None))!.Kit.Lot);
        }

        Assert.Equal(["LOT-1"], lots);
    }

    /// <summary>
    /// Attack 5: the depot's mix of kit types. The same arms, the same public actions; in one secret the depot has
    /// plenty of both types after the first shipment, in the other a single kit of one type. The automatic order the
    /// site then gets has the same number of kits (the short type made up from the other), so nothing the site sees
    /// depends on the depot's per-type stock; the depot manager's view shows the made-up composition was needed.
    /// </summary>
    [Fact]
    public async Task DepotShortOfOneType_AutomaticOrderKeepsItsSize()
    {
        (int Trigger, int Maximum) levels = (10, 20);
        var numbers = BlindSecret.Numbers(100);
        async Task Attack(BlindRun run)
        {
            var shipment = await run.Trial.Ok(BlindRun.Depot, HttpMethod.Post, "shipments", new { siteId = Site, kits = new Dictionary<string, int> { ["LJ-CAPS"] = 8, ["PBO-CAPS"] = 8 } });
            await run.Trial.Ok(BlindRun.Depot, HttpMethod.Post, $"shipments/{shipment.GetProperty("shipmentId").GetString()}/dispatch");
            await run.ReceiveAllAsync(Site);
            for (var i = 0; i < 7; i++)
            {
                await run.Ok(BlindRun.Coordinator(Site), HttpMethod.Post, $"subjects/DEP-{i:D3}/randomize", Randomization());
                await run.RunTimersAsync();
            }

            await run.Do(BlindRun.Pharmacist(Site), HttpMethod.Get, "shipments");
        }

        // 29 PBO kits in the short secret: 8 go in the first shipment, 10 each in the orders of CN02 and CN03 (they start
        // empty, and the first timer run orders for them), and one is left when CN01 orders.
        // Half of each at random: alternating L and P would be a list in blocks of two, which the import refuses.
        var plenty = string.Concat(KitChoice.Pick([.. Enumerable.Range(0, 100).Select(i => i < 50 ? 'L' : 'P')], 100, new SeededRandom(5)));
        var onePboLeft = string.Concat(Enumerable.Range(0, 100).Select(i => i * 37 % 100 < 29 ? 'P' : 'L'));
        var a = await Observe(BlindSecret.Spelled(BlindSecret.Seed(5), numbers, plenty), Attack, levels);
        var shortRun = await BlindRun.StartAsync(BlindSecret.Spelled(BlindSecret.Seed(5), numbers, onePboLeft), levels);
        await using (shortRun)
        {
            await Attack(shortRun);
            BlindAssert.SameObservations(a, shortRun.Observed);
            Assert.Contains(a, o => o.Contains("\"reason\":\"resupply\"", StringComparison.Ordinal));

            // CN01's automatic order got the one PBO kit left, the rest of its number LJ.
            var shipments = await shortRun.Trial.Ok(BlindRun.Depot, HttpMethod.Get, "shipments");
            var order = shipments.EnumerateArray()
                .Single(s => s.GetProperty("reason").GetString() == "resupply" && s.GetProperty("siteId").GetString() == Site);
            var types = order.GetProperty("kits").EnumerateArray().Select(k => k.GetProperty("kitType").GetString()).ToList();
            Assert.Equal(1, types.Count(t => t == "PBO-CAPS"));
            Assert.True(types.Count > 2, "an order the rule would have split more evenly");
        }
    }

    /// <summary>
    /// Two list seeds whose first <paramref name="subjects"/> allocations in the test's stratum leave the site (8 + 8
    /// kits) with per-type stocks the per-type rule orders differently for, at some step, while neither type runs out.
    /// </summary>
    private static (int SeedA, int SeedB) SeedsWithDifferentPerTypeStock((int Trigger, int Maximum) levels, int subjects)
    {
        var study = LjStudy();
        var supply = new Iwrs.Domain.Studies.SupplySettings(levels.Trigger, levels.Maximum, 5, 7);
        List<string> Orders(int seed)
        {
            var arms = FirstArms(study, seed, subjects);
            if (arms.Count(a => a == "LJ") >= 8 || arms.Count(a => a == "PBO") >= 8)
            {
                return []; // a type would run out: a supply hold, the one acknowledged exception, not this attack
            }

            int lj = 8, pbo = 8;
            var orders = new List<string>();
            foreach (var arm in arms)
            {
                lj -= arm == "LJ" ? 1 : 0;
                pbo -= arm == "PBO" ? 1 : 0;
                var need = Resupply.PerType.Need(study, supply, [new StockLevel("LJ-CAPS", lj, 0), new StockLevel("PBO-CAPS", pbo, 0)], ZeroRandom.Instance);
                orders.Add(need.Values.Sum().ToString(System.Globalization.CultureInfo.InvariantCulture));
                if (need.Count > 0)
                {
                    break; // after the first order the runs' in-transit stock differs too; the first order is enough
                }
            }

            return orders;
        }

        for (var a = 1; a < 200; a++)
        {
            var first = Orders(a);
            for (var b = a + 1; b < 200 && first.Count > 0; b++)
            {
                var second = Orders(b);
                if (second.Count > 0 && !first.SequenceEqual(second))
                {
                    return (a, b);
                }
            }
        }

        throw new InvalidOperationException("No pair of seeds separates the per-type rule; the test cannot show anything.");
    }

    /// <summary>
    /// Attack 4: refusal codes and messages compared across arms. Two subjects in opposite arms are randomized from a
    /// shelf of 2 + 2 and one of them dispensed again, which empties its type; then both are dispensed and a third is
    /// randomized: every refusal must be the same whichever arm the subject is in (the two secrets swap the two
    /// subjects' arms), and the hold stays on — the same answers — while the urgent shipment is received kit by kit,
    /// until it is received whole. The kit left on the shelf when the hold began is quarantined with it.
    /// </summary>
    [Fact]
    public async Task RefusalsComparedAcrossArms_GainNothing()
    {
        // Enough at the depot for the hold's urgent shipment, up to the maximum level (40).
        var numbers = BlindSecret.Numbers(60);
        var (seedA, seedB) = SeedsWithOppositeFirstTwoArms();
        async Task Attack(BlindRun run)
        {
            var first = await run.Trial.Ok(BlindRun.Depot, HttpMethod.Post, "shipments", new { siteId = Site, kits = new Dictionary<string, int> { ["LJ-CAPS"] = 2, ["PBO-CAPS"] = 2 } });
            await run.Trial.Ok(BlindRun.Depot, HttpMethod.Post, $"shipments/{first.GetProperty("shipmentId").GetString()}/dispatch");
            await run.ReceiveAllAsync(Site);
            await run.Ok(BlindRun.Coordinator(Site), HttpMethod.Post, "subjects/ARM-1/randomize", Randomization());
            await run.Ok(BlindRun.Coordinator(Site), HttpMethod.Post, "subjects/ARM-2/randomize", Randomization());
            await run.Ok(BlindRun.Coordinator(Site), HttpMethod.Post, "subjects/ARM-1/visits/C2/dispense");
            var beforeHold = await ShelfAsync(run);

            // ARM-1's type is gone, ARM-2's is not: both subjects, and a new one, are answered alike, by HTTP and by SMS.
            var refusals = new List<string>();
            var smsRefusals = new List<string>();
            for (var round = 0; round < 2; round++)
            {
                foreach (var path in new[] { "subjects/ARM-2/visits/C2/dispense", "subjects/ARM-1/visits/C3/dispense" })
                {
                    var (status, body) = await run.Do(BlindRun.Coordinator(Site), HttpMethod.Post, path);
                    refusals.Add($"{(int)status} {body.GetProperty("code").GetString()} {body.GetProperty("detail").GetString()}");
                }

                var (s3, b3) = await run.Do(BlindRun.Coordinator(Site), HttpMethod.Post, "subjects/ARM-3/randomize", Randomization());
                refusals.Add($"{(int)s3} {b3.GetProperty("code").GetString()} {b3.GetProperty("detail").GetString()}");

                // The same three by SMS (a RAND is refused at its confirmation): one reply, whichever arm.
                smsRefusals.Add(await run.Sms(BlindRun.Coordinator(Site), $"DISP {BlindRun.Study} ARM-2 C2 {Sms.SmsHarness.Pin}"));
                smsRefusals.Add(await run.Sms(BlindRun.Coordinator(Site), $"DISP {BlindRun.Study} ARM-1 C3 {Sms.SmsHarness.Pin}"));
                var randomized = await run.SmsRandomize(BlindRun.Coordinator(Site), $"RAND {BlindRun.Study} ARM-3 {Site} ecog=0 liver-mets=yes {Sms.SmsHarness.Pin}");
                Assert.Contains("supply-hold", randomized, StringComparison.Ordinal);
                if (round == 0)
                {
                    // The hold's urgent shipment arrives; one kit received is not a release.
                    await run.DispatchAllAsync();
                    var urgent = (await run.Ok(BlindRun.Pharmacist(Site), HttpMethod.Get, "shipments")).EnumerateArray().Single(s => s.GetProperty("status").GetString() == "dispatched");
                    var kit = urgent.GetProperty("kits")[0].GetProperty("kitNumber").GetString();
                    await run.Ok(BlindRun.Pharmacist(Site), HttpMethod.Post, $"shipments/{urgent.GetProperty("shipmentId").GetString()}/receive", new { kits = new[] { new { kitNumber = kit, condition = "ok" } } });
                }
            }

            Assert.Single(refusals.Distinct());
            Assert.StartsWith("409 supply-hold", refusals[0], StringComparison.Ordinal);
            Assert.Single(smsRefusals.Distinct());
            Assert.Contains("supply-hold", smsRefusals[0], StringComparison.Ordinal);
            await run.ReceiveAllAsync(Site);

            // Review H3: the kit left from before the hold is of the type that was not short, so dispensed after it,
            // it would tell its subject's arm. It was quarantined with the hold: after the lift it is not on the shelf.
            Assert.Single(beforeHold);
            var afterLift = await ShelfAsync(run);
            Assert.NotEmpty(afterLift);
            Assert.Empty(beforeHold.Intersect(afterLift));
            await run.Ok(BlindRun.Coordinator(Site), HttpMethod.Post, "subjects/ARM-2/visits/C2/dispense");
            await run.Ok(BlindRun.Coordinator(Site), HttpMethod.Post, "subjects/ARM-1/visits/C3/dispense");
            await run.Do(BlindRun.Manager, HttpMethod.Get, "audit");

            // The blinded study manager's view of the study's SMS: which notices, for which roles, and how they went.
            await run.DispatchAllAsync();
            Assert.NotEmpty((await run.Ok(BlindRun.Manager, HttpMethod.Get, "sms/messages")).GetProperty("messages").EnumerateArray());
            await run.Ok(BlindRun.Manager, HttpMethod.Get, $"sms/users/{BlindRun.Coordinator(Site)}");
        }

        await using var runA = await BlindRun.StartAsync(BlindSecret.Drawn(BlindSecret.Seed(seedA), numbers, 41));
        await using var runB = await BlindRun.StartAsync(BlindSecret.Drawn(BlindSecret.Seed(seedB), numbers, 42));
        await Attack(runA);
        await Attack(runB);
        var armsA = await runA.ArmsAsync(["ARM-1", "ARM-2"]);
        Assert.Equal((await runB.ArmsAsync(["ARM-1", "ARM-2"])).Reverse(), armsA);
        Assert.NotEqual(armsA[0], armsA[1]);
        BlindAssert.SameObservations(runA.Observed, runB.Observed);
    }

    /// <summary>The kit numbers on the site's shelf as its pharmacist lists them (the observation is recorded).</summary>
    private static async Task<List<string>> ShelfAsync(BlindRun run) =>
        [.. (await run.Ok(BlindRun.Pharmacist(Site), HttpMethod.Get, $"sites/{Site}/inventory")).GetProperty("kits").EnumerateArray().Select(k => k.GetProperty("kitNumber").GetString()!)];

    private static readonly System.Text.Json.JsonSerializerOptions Web = new(System.Text.Json.JsonSerializerDefaults.Web);

    /// <summary>The arms the list generated from seed <paramref name="seed"/> gives the test's stratum's first <paramref name="count"/> subjects.</summary>
    private static List<string> FirstArms(Iwrs.Domain.Studies.StudyConfiguration study, int seed, int count)
    {
        var stratum = Strata.For(study, Site, Stratum).Value.Key;
        return [.. ListGenerator.Generate(study, BlindSecret.Seed(seed), 40).Value.Slots.Where(s => s.StratumKey == stratum).Take(count).Select(s => s.ArmCode)];
    }

    private static Iwrs.Domain.Studies.StudyConfiguration LjStudy() =>
        Iwrs.Domain.Studies.StudyConfiguration.Create(System.Text.Json.JsonSerializer.Deserialize<Iwrs.Domain.Studies.StudyDefinition>(IwrsFactory.StudyFile("lj-mcrc.json"), Web)).Value;

    private static (int SeedA, int SeedB) SeedsWithOppositeFirstTwoArms()
    {
        var study = LjStudy();
        string FirstTwo(int seed) => string.Join(",", FirstArms(study, seed, 2));
        var a = Enumerable.Range(1, 100).First(s => FirstTwo(s) == "LJ,PBO");
        var b = Enumerable.Range(1, 100).First(s => FirstTwo(s) == "PBO,LJ");
        return (a, b);
    }
}
