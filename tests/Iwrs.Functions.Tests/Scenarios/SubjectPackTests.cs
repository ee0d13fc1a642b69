using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Iwrs.Domain.Access;
using Iwrs.Domain.Audit;
using Iwrs.Functions.Auth;
using Iwrs.Functions.Features;
using Iwrs.Storage.Stores;
using Microsoft.Extensions.DependencyInjection;

namespace Iwrs.Functions.Tests.Scenarios;

/// <summary>
/// The subject-pack design's packs over HTTP on Azurite (the blinded seed study with <c>supply.subjectPacks</c>, under
/// the preview setting): a subject's kits after randomization come in a pack shipped for them alone, ordered with each
/// visit and shipped on its last day with whatever else the site is owed; a later visit takes the subject's own pack
/// only; a pack kit lost at receipt is owed again and leaves at once.
/// </summary>
public sealed class SubjectPackTests
{
    private const string Site = "CN01";

    private static JsonObject Packs() => new() { ["starterSize"] = 4, ["starterTrigger"] = 8, ["packVisits"] = 1 };

    private static readonly object Request = new
    {
        siteId = Site,
        eligibilityConfirmed = true,
        stratificationFactors = new Dictionary<string, string> { ["ecog"] = "0", ["liver-mets"] = "yes" },
    };

    [Fact]
    public async Task LaterVisits_FromTheSubjectsOwnPack_ShippedOnItsLastDay_WithWhatElseIsOwed()
    {
        await using var run = await StartWithOneSubjectAsync();
        var arm = (await run.Trial.Ok(BlindRun.Statistician, HttpMethod.Get, "subjects/PK-001")).GetProperty("kitType").GetString();

        // The same day: one randomization leaves 7 of the 8 the trigger asks for, so a starter leaves, and PK-001's
        // pack for C2 with it although its last day is a week away.
        await run.RunTimersAsync();
        var second = Shipments(await run.Trial.Ok(BlindRun.Depot, HttpMethod.Get, "shipments")).Single(s => s.Id != "SH0001" && s.Site == Site);
        Assert.Equal("starters and packs", second.Reason);
        var pack = Assert.Single(second.Kits, k => k.PackFor is not null);
        Assert.Equal(("PK-001", arm), (pack.PackFor, pack.Type));
        Assert.Equal(4, second.Kits.Count(k => k.Starter is not null));

        // C2 before the pack is released: refused, nothing used.
        await run.DispatchAllAsync();
        run.Clock.Advance(TimeSpan.FromDays(20));
        var (early, refusal) = await run.Do(BlindRun.Coordinator(Site), HttpMethod.Post, "subjects/PK-001/visits/C2/dispense");
        Assert.Equal((HttpStatusCode.Conflict, "pack-not-on-site"), (early, refusal.GetProperty("code").GetString()));
        Assert.Contains("on its way", refusal.GetProperty("detail").GetString(), StringComparison.Ordinal);

        await run.ReceiveAllAsync(Site);
        var c2 = await run.Ok(BlindRun.Coordinator(Site), HttpMethod.Post, "subjects/PK-001/visits/C2/dispense");
        Assert.Equal(pack.Number, c2.GetProperty("dispensations")[1].GetProperty("kitNumber").GetString());

        // C3's pack is owed now and waits for its last day: C2's day + 21 − 3 (window) − 5 (lead) − 3 (check and
        // release) − 3 (spare) = 7 days on.
        for (var day = 1; day < 7; day++)
        {
            run.Clock.Advance(TimeSpan.FromDays(1));
            await run.RunTimersAsync();
        }

        Assert.Equal(3 + 1, (await run.Trial.Ok(BlindRun.Depot, HttpMethod.Get, "shipments")).GetArrayLength());
        run.Clock.Advance(TimeSpan.FromDays(1));
        await run.RunTimersAsync();
        var third = Shipments(await run.Trial.Ok(BlindRun.Depot, HttpMethod.Get, "shipments")).Where(s => s.Site == Site).Last();
        Assert.Equal("packs", third.Reason);
        Assert.Equal(("PK-001", arm), (Assert.Single(third.Kits).PackFor, third.Kits[0].Type));
    }

    [Fact]
    public async Task PackKitDamagedAtReceipt_OwedAgain_LeavesAtOnce()
    {
        await using var run = await StartWithOneSubjectAsync();
        await run.RunTimersAsync();
        await run.DispatchAllAsync();

        var shipment = Shipments(await run.Trial.Ok(BlindRun.Depot, HttpMethod.Get, "shipments")).Last(s => s.Site == Site);
        var pack = shipment.Kits.Single(k => k.PackFor == "PK-001");
        await run.Ok(BlindRun.Pharmacist(Site), HttpMethod.Post, $"shipments/{shipment.Id}/receive", new
        {
            kits = shipment.Kits.Select(k => new { kitNumber = k.Number, condition = k.Number == pack.Number ? "damaged" : "ok" }),
        });
        await run.Trial.Ok(BlindRun.Depot, HttpMethod.Post, $"shipments/{shipment.Id}/release");

        await run.RunTimersAsync();
        var again = Shipments(await run.Trial.Ok(BlindRun.Depot, HttpMethod.Get, "shipments")).Last(s => s.Site == Site);
        Assert.NotEqual(shipment.Id, again.Id);
        Assert.Equal(("PK-001", pack.Type), (Assert.Single(again.Kits).PackFor, again.Kits[0].Type));
    }

    [Fact]
    public async Task StarterUsedUp_RetiredByTheTimer_ItsOtherKitsNeverDispensed()
    {
        await using var run = await StartWithOneSubjectAsync();
        await run.Ok(BlindRun.Coordinator(Site), HttpMethod.Post, "subjects/PK-002/randomize", Request);
        var before = await run.Ok(BlindRun.Pharmacist(Site), HttpMethod.Get, $"sites/{Site}/inventory");
        Assert.Equal(14, before.GetProperty("available").GetInt32());
        Assert.Equal(2, before.GetProperty("kits").EnumerateArray().Count(k => k.GetProperty("starter").GetString() == "SH0001-1"));

        await run.RunTimersAsync();
        var after = await run.Ok(BlindRun.Pharmacist(Site), HttpMethod.Get, $"sites/{Site}/inventory");
        Assert.Equal(12, after.GetProperty("available").GetInt32());
        Assert.DoesNotContain(after.GetProperty("kits").EnumerateArray(), k => k.GetProperty("starter").GetString() == "SH0001-1");
        var audit = (await run.Ok(BlindRun.Manager, HttpMethod.Get, "audit")).EnumerateArray().Single(r => r.GetProperty("action").GetString() == "starters.retired");
        Assert.Equal("used, 2 kit(s) retired", audit.GetProperty("changes")[0].GetProperty("after").GetString());
    }

    [Fact]
    public async Task Discontinued_PackAtTheSiteAndOnTheWayRetired_NothingMoreOwed()
    {
        await using var run = await StartWithOneSubjectAsync();
        await run.Ok(BlindRun.Coordinator(Site), HttpMethod.Post, "subjects/PK-002/randomize", Request);
        await run.RunTimersAsync();
        await run.DispatchAllAsync();

        // PK-002 stops while its pack is on the way; PK-001 after its pack arrived.
        await run.Ok(BlindRun.Coordinator(Site), HttpMethod.Post, "subjects/PK-002/discontinue", new { reason = "progression" });
        await run.ReceiveAllAsync(Site);
        var packs = (await run.Ok(BlindRun.Pharmacist(Site), HttpMethod.Get, $"sites/{Site}/inventory")).GetProperty("inPacks").EnumerateArray().Select(k => k.GetProperty("packFor").GetString()).ToList();
        Assert.Equal(["PK-001"], packs);
        await run.Ok(BlindRun.Coordinator(Site), HttpMethod.Post, "subjects/PK-001/discontinue", new { reason = "progression" });
        Assert.Empty((await run.Ok(BlindRun.Pharmacist(Site), HttpMethod.Get, $"sites/{Site}/inventory")).GetProperty("inPacks").EnumerateArray());

        // Nothing is owed to either: weeks of timer runs ship no pack.
        var shipments = (await run.Trial.Ok(BlindRun.Depot, HttpMethod.Get, "shipments")).GetArrayLength();
        for (var day = 0; day < 30; day++)
        {
            run.Clock.Advance(TimeSpan.FromDays(1));
            await run.RunTimersAsync();
        }

        Assert.DoesNotContain(Shipments(await run.Trial.Ok(BlindRun.Depot, HttpMethod.Get, "shipments")).Skip(shipments), s => s.Kits.Any(k => k.PackFor is not null));
    }

    [Fact]
    public async Task PackKitLostFromTheSite_OwedAgain()
    {
        await using var run = await StartWithOneSubjectAsync();
        await run.RunTimersAsync();
        await run.DispatchAllAsync();
        await run.ReceiveAllAsync(Site);
        var kit = (await run.Ok(BlindRun.Pharmacist(Site), HttpMethod.Get, $"sites/{Site}/inventory")).GetProperty("inPacks")[0].GetProperty("kitNumber").GetString();
        await run.Ok(BlindRun.Pharmacist(Site), HttpMethod.Post, $"sites/{Site}/kits/{kit}/report", new { condition = "missing", reason = "not found in the pharmacy" });

        await run.RunTimersAsync();
        var again = Shipments(await run.Trial.Ok(BlindRun.Depot, HttpMethod.Get, "shipments")).Last(s => s.Site == Site);
        Assert.Equal("PK-001", Assert.Single(again.Kits).PackFor);
    }

    [Fact]
    public async Task HoldRacingAStartersRelease_NoHoldWhenAStarterCanServe_AndAHoldStandingOverStartersHeals()
    {
        await using var run = await BlindRun.StartAsync(BlindSecret.Drawn(BlindSecret.Seed(11), BlindSecret.Numbers(200), 1), subjectPacks: Packs());
        await run.RunTimersAsync();
        await run.DispatchAllAsync();
        await run.ReceiveAllAsync(Site);

        // A randomization refused before the starters were released enters its hold after: there is none.
        var (context, refusal) = await StudyContext.ResolveAsync(BlindRun.Study, StudyAction.Randomize, Site, run.App.Services, new Caller(BlindRun.Coordinator(Site), null), Channel.Http, CancellationToken.None);
        Assert.Null(refusal);
        Assert.False(await run.App.Services.GetRequiredService<SupplyHolds>().EnterAsync(context!, context!.Study.Configuration.FindSite(Site)!, "randomization", CancellationToken.None));
        await run.Ok(BlindRun.Coordinator(Site), HttpMethod.Post, "subjects/PK-001/randomize", Request);

        // The other side of the race, a hold written over released starters: the timer counts none of them, orders
        // starters, and their release lifts the hold.
        var table = await run.App.Services.GetRequiredService<IwrsTable>().GetAsync(CancellationToken.None);
        await table.SubmitTransactionAsync([SupplyHoldRows.Insert(BlindRun.Study, Site, run.Clock.GetUtcNow())]);
        var before = Shipments(await run.Trial.Ok(BlindRun.Depot, HttpMethod.Get, "shipments")).Count;
        await run.RunTimersAsync();
        var ordered = Shipments(await run.Trial.Ok(BlindRun.Depot, HttpMethod.Get, "shipments")).Skip(before).Single(s => s.Site == Site);
        Assert.Equal(16, ordered.Kits.Count(k => k.Starter is not null));
        await run.DispatchAllAsync();
        await run.ReceiveAllAsync(Site);
        Assert.Null(await SupplyHoldRows.GetAsync(table, BlindRun.Study, Site, CancellationToken.None));
    }

    [Fact]
    public async Task LateVisit_PackPastTheLimit_RetiredAndOwedAgainAtOnce()
    {
        await using var run = await BlindRun.StartAsync(BlindSecret.Drawn(BlindSecret.Seed(11), BlindSecret.Numbers(200), 1), subjectPacks: new JsonObject { ["starterSize"] = 4, ["starterTrigger"] = 1, ["packVisits"] = 1 });
        await run.ImportMoreAsync(BlindSecret.Drawn(BlindSecret.Seed(98), BlindSecret.Numbers(20), 5).Kits, "LOT-0", "2026-04-26");
        await run.RunTimersAsync();
        await run.DispatchAllAsync();
        await run.ReceiveAllAsync(Site);
        await run.Ok(BlindRun.Coordinator(Site), HttpMethod.Post, "subjects/PK-001/randomize", Request);
        for (var day = 0; day < 26; day++)
        {
            run.Clock.Advance(TimeSpan.FromDays(1));
            await run.RunTimersAsync();
            await run.DispatchAllAsync();
            await run.ReceiveAllAsync(Site);
        }

        // C2 five days after its target: its first pack kit (LOT-0, good to the end of the window) passed the limit the
        // day after the window closed, was retired, and its replacement (shipped at once) is there.
        var shipments = Shipments(await run.Trial.Ok(BlindRun.Depot, HttpMethod.Get, "shipments")).Where(s => s.Site == Site).ToList();
        Assert.Equal(2, shipments.Count(s => s.Kits.Any(k => k.PackFor == "PK-001")));
        Assert.Contains((await run.Ok(BlindRun.Manager, HttpMethod.Get, "audit")).EnumerateArray(), r => r.GetProperty("action").GetString() == "pack.kits-retired");
        var c2 = await run.Ok(BlindRun.Coordinator(Site), HttpMethod.Post, "subjects/PK-001/visits/C2/dispense");
        Assert.Equal(shipments.Last(s => s.Kits.Any(k => k.PackFor == "PK-001")).Kits.Single(k => k.PackFor == "PK-001").Number, c2.GetProperty("dispensations")[1].GetProperty("kitNumber").GetString());
    }

    [Fact]
    public async Task SubjectWhoStopsComing_OwedALatePackOnce_ThenTheDispensingTriedOrdersIt()
    {
        await using var run = await BlindRun.StartAsync(BlindSecret.Drawn(BlindSecret.Seed(11), BlindSecret.Numbers(200), 1), subjectPacks: new JsonObject { ["starterSize"] = 4, ["starterTrigger"] = 1, ["packVisits"] = 1 });
        // C2's pack comes from LOT-0 (good to the end of its window), the late pack owed for it from LOT-2 (good to the
        // end of a window after it can be on the shelf), a later one from LOT-1.
        await run.ImportMoreAsync(BlindSecret.Drawn(BlindSecret.Seed(98), BlindSecret.Numbers(20), 5).Kits, "LOT-0", "2026-04-26");
        await run.ImportMoreAsync(BlindSecret.Drawn(BlindSecret.Seed(97), BlindSecret.Numbers(20), 6).Kits, "LOT-2", "2026-05-15");
        await run.RunTimersAsync();
        await run.DispatchAllAsync();
        await run.ReceiveAllAsync(Site);
        await run.Ok(BlindRun.Coordinator(Site), HttpMethod.Post, "subjects/PK-001/randomize", Request);

        // PK-001 never comes for C2: its pack passes the limit the day after the window closes (27 March), the late pack
        // owed then passes it on 15 April, and nothing more is owed for weeks.
        for (var day = 0; day < 60; day++)
        {
            run.Clock.Advance(TimeSpan.FromDays(1));
            await run.RunTimersAsync();
            await run.DispatchAllAsync();
            await run.ReceiveAllAsync(Site);
        }

        List<ShipmentSeen> PacksShipped(JsonElement list) => [.. Shipments(list).Where(s => s.Kits.Any(k => k.PackFor == "PK-001"))];
        Assert.Equal(2, PacksShipped(await run.Trial.Ok(BlindRun.Depot, HttpMethod.Get, "shipments")).Count);
        var retired = (await run.Ok(BlindRun.Manager, HttpMethod.Get, "audit")).EnumerateArray().Where(r => r.GetProperty("action").GetString() == "pack.kits-retired")
            .Select(r => r.GetProperty("changes").EnumerateArray().Single(c => c.GetProperty("field").GetString() == "owed").GetProperty("after").GetString()).ToList();
        Assert.Equal(2, retired.Count);
        Assert.Equal("1 kit(s)", retired[0]);
        Assert.StartsWith("nothing", retired[1], StringComparison.Ordinal);

        // PK-001 comes back on 1 May: refused, the pack is ordered, and it comes at the next check.
        var (status, refusal) = await run.Do(BlindRun.Coordinator(Site), HttpMethod.Post, "subjects/PK-001/visits/C2/dispense");
        Assert.Equal((HttpStatusCode.Conflict, "pack-not-on-site"), (status, refusal.GetProperty("code").GetString()));
        Assert.Contains("ordered now", refusal.GetProperty("detail").GetString(), StringComparison.Ordinal);
        var (again, _) = await run.Do(BlindRun.Coordinator(Site), HttpMethod.Post, "subjects/PK-001/visits/C2/dispense");
        Assert.Equal(HttpStatusCode.Conflict, again);
        Assert.Single((await run.Ok(BlindRun.Manager, HttpMethod.Get, "audit")).EnumerateArray(), r => r.GetProperty("action").GetString() == "pack.ordered");
        await run.RunTimersAsync();
        var late = PacksShipped(await run.Trial.Ok(BlindRun.Depot, HttpMethod.Get, "shipments"));
        Assert.Equal(3, late.Count);
        await run.DispatchAllAsync();
        run.Clock.Advance(TimeSpan.FromDays(5));
        await run.ReceiveAllAsync(Site);
        var c2 = await run.Ok(BlindRun.Coordinator(Site), HttpMethod.Post, "subjects/PK-001/visits/C2/dispense");
        Assert.Equal(late[^1].Kits.Single(k => k.PackFor == "PK-001").Number, c2.GetProperty("dispensations")[1].GetProperty("kitNumber").GetString());
    }

    [Theory]
    [InlineData("site inactive")]
    [InlineData("study closed")]
    public async Task RandomizingNoMore_NoStarters_TheSubjectsPacksStillGo(string change)
    {
        await using var run = await StartWithOneSubjectAsync();
        var study = JsonNode.Parse(IwrsFactory.StudyFile("lj-mcrc.json"))!;
        study["version"] = 2;
        study["supply"]!["subjectPacks"] = Packs();
        if (change == "study closed")
        {
            study["status"] = "closed";
        }
        else
        {
            study["sites"]!.AsArray().Single(s => s!["siteId"]!.GetValue<string>() == Site)!["active"] = false;
        }

        await run.Trial.Ok(IwrsFactory.Admin, HttpMethod.Put, $"/api/studies/{BlindRun.Study}", study);

        // Below the starter trigger, yet no starter leaves; PK-001's pack leaves on its last day, alone.
        var before = Shipments(await run.Trial.Ok(BlindRun.Depot, HttpMethod.Get, "shipments")).Count;
        for (var day = 0; day < 8; day++)
        {
            await run.RunTimersAsync();
            run.Clock.Advance(TimeSpan.FromDays(1));
        }

        var after = Shipments(await run.Trial.Ok(BlindRun.Depot, HttpMethod.Get, "shipments")).Skip(before).Where(s => s.Site == Site).ToList();
        var shipment = Assert.Single(after);
        Assert.Equal("packs", shipment.Reason);
        Assert.Equal("PK-001", Assert.Single(shipment.Kits).PackFor);

        // A closed study's starters leave the shelf at once; an inactive site keeps them (it may be active again).
        var retired = (await run.Ok(BlindRun.Manager, HttpMethod.Get, "audit")).EnumerateArray().Where(r => r.GetProperty("action").GetString() == "starters.retired")
            .SelectMany(r => r.GetProperty("changes").EnumerateArray().Select(c => c.GetProperty("after").GetString())).ToList();
        Assert.Equal(change == "study closed" ? ["enrolment closed, 3 kit(s) retired", .. Enumerable.Repeat("enrolment closed, 4 kit(s) retired", 3)] : [], retired);
    }

    [Fact]
    public async Task DepotManagersOwnShipment_Refused()
    {
        await using var run = await BlindRun.StartAsync(BlindSecret.Drawn(BlindSecret.Seed(11), BlindSecret.Numbers(40), 1), subjectPacks: Packs());
        var (status, body) = await run.Trial.Send(BlindRun.Depot, HttpMethod.Post, "shipments", new { siteId = Site, kits = new Dictionary<string, int> { ["LJ-CAPS"] = 2, ["PBO-CAPS"] = 2 } });
        Assert.Equal((HttpStatusCode.Conflict, "shipment-automatic-only"), (status, body.GetProperty("code").GetString()));
        Assert.Equal(0, (await run.Trial.Ok(BlindRun.Depot, HttpMethod.Get, "shipments")).GetArrayLength());
    }

    /// <summary>The study on packs, CN01's first starters received, and PK-001 randomized from them.</summary>
    private static async Task<BlindRun> StartWithOneSubjectAsync()
    {
        var run = await BlindRun.StartAsync(BlindSecret.Drawn(BlindSecret.Seed(11), BlindSecret.Numbers(200), 1), subjectPacks: Packs());
        await run.RunTimersAsync();
        await run.DispatchAllAsync();
        await run.ReceiveAllAsync(Site);
        await run.Ok(BlindRun.Coordinator(Site), HttpMethod.Post, "subjects/PK-001/randomize", Request);
        return run;
    }

    private sealed record KitSeen(string Number, string? Type, string? Starter, string? PackFor);

    private sealed record ShipmentSeen(string Id, string Site, string Reason, IReadOnlyList<KitSeen> Kits);

    private static List<ShipmentSeen> Shipments(JsonElement list) =>
    [
        .. list.EnumerateArray().Select(s => new ShipmentSeen(
            s.GetProperty("shipmentId").GetString()!,
            s.GetProperty("siteId").GetString()!,
            s.GetProperty("reason").GetString()!,
            [.. s.GetProperty("kits").EnumerateArray().Select(k => new KitSeen(
                k.GetProperty("kitNumber").GetString()!,
                k.TryGetProperty("kitType", out var t) ? t.GetString() : null,
                k.TryGetProperty("starter", out var st) ? st.GetString() : null,
                k.TryGetProperty("packFor", out var p) ? p.GetString() : null))]))
            .OrderBy(s => s.Id, StringComparer.Ordinal),
    ];
}
