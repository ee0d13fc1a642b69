using System.Net;
using System.Text.Json;
using Iwrs.Functions.Features;
using Iwrs.Functions.Hosting;
using Microsoft.Extensions.DependencyInjection;

namespace Iwrs.Functions.Tests.Scenarios;

/// <summary>
/// Losses on the blinded seed study over HTTP on Azurite. A shipment that lost kits at receipt reaches the shelf whole
/// with its replacement, whichever of the two is released first, and the site works on its shelf meanwhile; a kit lost
/// from the shelf holds the site until its replacement is released. The per-type counts are read from the depot
/// manager's (unblinded) inventory; the pharmacist's view lists set-aside kits as shelf kits.
/// </summary>
public sealed class SetAsideTests : IAsyncLifetime
{
    private const string Study = "LJ-MCRC";
    private const string Site = "CN01";
    private static readonly Dictionary<string, string> Stratum = new() { ["ecog"] = "0", ["liver-mets"] = "yes" };

    private readonly IwrsFactory _first = new();
    private IwrsFactory _second = null!;
    private TrialDriver _trial = null!;
    private TrialDriver _other = null!;

    public async Task InitializeAsync()
    {
        _second = new IwrsFactory(tableName: _first.TableName);
        await _first.LoadSeedStudies();
        _trial = new TrialDriver(_first, Study);
        _other = new TrialDriver(_second, Study);
        await _first.Grant(Study, "depot", "depot-manager");
        await _first.Grant(Study, "stat", "unblinded-statistician");
        await _first.Grant(Study, "pharm", "pharmacist", Site);
        await _first.Grant(Study, "coord", "site-coordinator", Site);
        await _trial.ImportKits("depot", ["LJ-CAPS", "PBO-CAPS"], perType: 60);
        await _trial.Ok("stat", HttpMethod.Post, "randomization-list/generate", new { slotsPerStratum = 20 });
    }

    public async Task DisposeAsync()
    {
        await _second.DisposeAsync();
        await _first.DisposeAsync();
    }

    private async Task<(Dictionary<string, int> ByType, List<string> SetAside)> Unblinded()
    {
        var view = await _trial.Ok("depot", HttpMethod.Get, $"sites/{Site}/inventory");
        var byType = view.GetProperty("availableByKitType").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetInt32());
        byType.TryAdd("LJ-CAPS", 0);
        byType.TryAdd("PBO-CAPS", 0);
        return (byType, [.. view.GetProperty("setAside").EnumerateArray().Select(k => k.GetProperty("kitNumber").GetString()!)]);
    }

    private Task<JsonElement> Report(TrialDriver driver, string kit) =>
        driver.Ok("pharm", HttpMethod.Post, $"sites/{Site}/kits/{kit}/report", new { condition = "missing", reason = "not in the fridge" });

    private async Task<List<string>> Replacements() =>
        [.. (await _trial.Ok("depot", HttpMethod.Get, "shipments")).EnumerateArray().Where(s => s.GetProperty("reason").GetString() == "replacement").Select(s => s.GetProperty("shipmentId").GetString()!)];

    private async Task ReceiveOk(string id)
    {
        var numbers = (await _trial.Ok("depot", HttpMethod.Get, "shipments")).EnumerateArray().Single(s => s.GetProperty("shipmentId").GetString() == id)
            .GetProperty("kits").EnumerateArray().Select(k => new { kitNumber = k.GetProperty("kitNumber").GetString(), condition = "ok" }).ToList();
        await _trial.Ok("pharm", HttpMethod.Post, $"shipments/{id}/receive", new { kits = numbers });
    }

    private async Task DispatchAndReceive(string id)
    {
        await _trial.Ok("depot", HttpMethod.Post, $"shipments/{id}/dispatch");
        await ReceiveOk(id);
    }

    /// <summary>The depot releases shipment <paramref name="id"/> and its replacement is dispatched and received, in the order given.</summary>
    private async Task ReleaseBoth(string id, string replacement, bool sourceFirst)
    {
        if (sourceFirst)
        {
            await _trial.Ok("depot", HttpMethod.Post, $"shipments/{id}/release");
            await DispatchAndReceive(replacement);
        }
        else
        {
            await DispatchAndReceive(replacement);
            await _trial.Ok("depot", HttpMethod.Post, $"shipments/{id}/release");
        }
    }

    private Task<(HttpStatusCode Status, JsonElement Body)> Randomize(string subject) =>
        _trial.Send("coord", HttpMethod.Post, $"subjects/{subject}/randomize", new { siteId = Site, eligibilityConfirmed = true, stratificationFactors = Stratum });

    /// <summary>A shipment of <paramref name="perType"/> of each type to the site, dispatched, received with its first <paramref name="lost"/> kits (in number order) damaged.</summary>
    private async Task<(string Id, List<string> Kits)> ReceiveWithDamage(int perType, int lost)
    {
        var shipment = await _trial.Ok("depot", HttpMethod.Post, "shipments", new { siteId = Site, kits = new Dictionary<string, int> { ["LJ-CAPS"] = perType, ["PBO-CAPS"] = perType } });
        var id = shipment.GetProperty("shipmentId").GetString()!;
        await _trial.Ok("depot", HttpMethod.Post, $"shipments/{id}/dispatch");
        var numbers = shipment.GetProperty("kits").EnumerateArray().Select(k => k.GetProperty("kitNumber").GetString()!).Order(StringComparer.Ordinal).ToList();
        await _trial.Ok("pharm", HttpMethod.Post, $"shipments/{id}/receive", new { kits = numbers.Select((n, i) => new { kitNumber = n, condition = i < lost ? "damaged" : "ok" }) });
        return (id, numbers);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task ShipmentThatLostAKit_ReachesTheShelfWholeWithItsReplacement_WhicheverIsReleasedFirst(bool depotReleasesFirst)
    {
        await _trial.Stock("depot", "pharm", Site, new Dictionary<string, int> { ["LJ-CAPS"] = 3, ["PBO-CAPS"] = 3 });
        var (id, _) = await ReceiveWithDamage(4, 1);

        // The replacement is ordered with the receipt, before the depot releases anything: one lost + one of each.
        var replacement = Assert.Single(await Replacements());
        Assert.Equal(3, (await _trial.Ok("depot", HttpMethod.Get, "shipments")).EnumerateArray().Single(s => s.GetProperty("shipmentId").GetString() == replacement).GetProperty("kitCount").GetInt32());
        await ReleaseBoth(id, replacement, depotReleasesFirst);

        // Between the two releases the first one's kits were set aside and the shelf was the one the site had: 3 + 3.
        // After both, every kit is on the shelf: 3 + (4 + 1) of each type, whichever kit was damaged.
        var (byType, setAside) = await Unblinded();
        Assert.Empty(setAside);
        Assert.Equal(8, byType["LJ-CAPS"]);
        Assert.Equal(8, byType["PBO-CAPS"]);
    }

    [Fact]
    public async Task WhileALossWaitsForItsReplacement_TheSiteKeepsRandomizingOnItsShelf()
    {
        await _trial.Stock("depot", "pharm", Site, new Dictionary<string, int> { ["LJ-CAPS"] = 3, ["PBO-CAPS"] = 3 });
        var (id, _) = await ReceiveWithDamage(4, 2);
        await _trial.Ok("depot", HttpMethod.Post, $"shipments/{id}/release");
        var (byType, setAside) = await Unblinded();
        Assert.Equal(6, setAside.Count);
        Assert.Equal(3, byType["LJ-CAPS"]);
        Assert.Equal(3, byType["PBO-CAPS"]);

        // The pharmacist sees every kit there: 6 on the shelf and 6 set aside, no types.
        Assert.Equal(12, (await _trial.Ok("pharm", HttpMethod.Get, $"sites/{Site}/inventory")).GetProperty("available").GetInt32());
        Assert.Equal(HttpStatusCode.Created, (await Randomize("SA-001")).Status);
    }

    [Fact]
    public async Task SixShelfReportsInParallel_OnTwoInstances_HoldTheSiteUntilEveryReplacementIsReleased()
    {
        var kits = await _trial.Stock("depot", "pharm", Site, new Dictionary<string, int> { ["LJ-CAPS"] = 10, ["PBO-CAPS"] = 10 });
        var reported = kits.Order(StringComparer.Ordinal).Take(6).ToList();
        await Task.WhenAll(reported.Select((k, i) => Report(i % 2 == 0 ? _trial : _other, k)));

        // Every report holds the site, whatever the kit: the hold says nothing of its type.
        Assert.Equal("supply-hold", (await Randomize("SA-001")).Body.GetProperty("code").GetString());
        var replacements = await Replacements();
        Assert.Equal(6, replacements.Count);
        Assert.All((await _trial.Ok("depot", HttpMethod.Get, "shipments")).EnumerateArray().Where(s => replacements.Contains(s.GetProperty("shipmentId").GetString()!)), s => Assert.Equal(3, s.GetProperty("kitCount").GetInt32()));

        foreach (var id in replacements.Take(5))
        {
            await DispatchAndReceive(id);
        }

        Assert.Equal("supply-hold", (await Randomize("SA-002")).Body.GetProperty("code").GetString());
        await DispatchAndReceive(replacements[5]);

        // Level again: per type 10 − lost of it + (lost of it + 6).
        var (byType, setAside) = await Unblinded();
        Assert.Empty(setAside);
        Assert.Equal(16, byType["LJ-CAPS"]);
        Assert.Equal(16, byType["PBO-CAPS"]);
        Assert.Equal(HttpStatusCode.Created, (await Randomize("SA-003")).Status);
    }

    [Fact]
    public async Task ReportingASetAsideKit_AnswersAsAnyOther_AndTheTypesLevelAgainOnceEveryKitIsBack()
    {
        var shelf = await _trial.Stock("depot", "pharm", Site, new Dictionary<string, int> { ["LJ-CAPS"] = 4, ["PBO-CAPS"] = 4 });
        var (id, _) = await ReceiveWithDamage(5, 1);
        await _trial.Ok("depot", HttpMethod.Post, $"shipments/{id}/release");
        var (_, setAside) = await Unblinded();
        Assert.Equal(9, setAside.Count);

        // The pharmacist reports a shelf kit and a set-aside kit; both answer alike.
        var shelfAnswer = await Report(_trial, shelf[0]);
        var aside = setAside[0];
        var asideAnswer = await Report(_trial, aside);
        Assert.Equal(shelfAnswer.GetRawText().Replace(shelf[0], "KIT", StringComparison.Ordinal), asideAnswer.GetRawText().Replace(aside, "KIT", StringComparison.Ordinal));

        // No kit stands in for it: eight set aside; its replacement's kits will wait with them.
        var (_, now) = await Unblinded();
        Assert.Equal(8, now.Count);
        Assert.DoesNotContain(aside, now);

        foreach (var replacement in await Replacements())
        {
            await DispatchAndReceive(replacement);
        }

        // Per type: 4 on the shelf, 5 + 1 from the damaged shipment and its replacement, 1 + lost of it from each
        // shelf loss's replacement, less the kits lost: level.
        var (byType, left) = await Unblinded();
        Assert.Empty(left);
        Assert.Equal(byType["LJ-CAPS"], byType["PBO-CAPS"]);
        Assert.Equal(12, byType["LJ-CAPS"]);
        Assert.Equal(HttpStatusCode.Created, (await Randomize("SA-001")).Status);
    }

    [Theory]
    [InlineData(19)]
    [InlineData(30)]
    public async Task LargeLoss_TheReplacementIsReceivedAndEveryKitReachesTheShelf(int lost)
    {
        // Review probe: 19 lost kits made the replacement's receipt one transaction of more than 100 writes (500).
        var (id, _) = await ReceiveWithDamage(20, lost);
        await _trial.Ok("depot", HttpMethod.Post, $"shipments/{id}/release");
        Assert.Equal(40 - lost, (await Unblinded()).SetAside.Count);
        var replacement = Assert.Single(await Replacements());
        await DispatchAndReceive(replacement);

        var (byType, setAside) = await Unblinded();
        Assert.Empty(setAside);
        Assert.Equal(21, byType["LJ-CAPS"]);
        Assert.Equal(21, byType["PBO-CAPS"]);

        // More kits came back than one transaction holds beside the replacement's own: the rest followed, audited.
        var audit = await _trial.Ok("stat", HttpMethod.Get, "audit");
        Assert.Contains(audit.EnumerateArray(), r => r.GetProperty("action").GetString() == "site.kits-returned");
    }

    /// <summary>
    /// Empty shelf; a 4+4 shipment loses 1 kit; its replacement is released FIRST (its kits set aside); the pharmacist
    /// reports a set-aside kit (no stand-in: the shelf is empty); its replacement arrives (merged into the first loss);
    /// then the depot releases the damaged shipment. Every loss is replaced and every kit is on the shelf: the hold
    /// should lift.
    /// </summary>
    [Fact]
    public async Task ReplacementFirst_ThenASetAsideKitReported_TheHoldLiftsOnceEveryKitIsBack()
    {
        var (id, _) = await ReceiveWithDamage(4, 1);
        var first = Assert.Single(await Replacements());
        await DispatchAndReceive(first);
        var setAside = (await _trial.Ok("depot", HttpMethod.Get, $"sites/{Site}/inventory")).GetProperty("setAside").EnumerateArray().Select(k => k.GetProperty("kitNumber").GetString()!).ToList();
        Assert.Equal(3, setAside.Count);
        await _trial.Ok("pharm", HttpMethod.Post, $"sites/{Site}/kits/{setAside[0]}/report", new { condition = "missing", reason = "not in the fridge" });
        var second = (await Replacements()).Single(r => r != first);
        await DispatchAndReceive(second);
        await _trial.Ok("depot", HttpMethod.Post, $"shipments/{id}/release");

        var view = await _trial.Ok("depot", HttpMethod.Get, $"sites/{Site}/inventory");
        Assert.Empty(view.GetProperty("setAside").EnumerateArray());
        // The timer, and whatever it orders, received; then the site randomizes.
        for (var round = 0; round < 2; round++)
        {
            await _first.Services.GetRequiredService<ResupplyCheck>().RunAsync(new TimerInvocation(ResupplyCheck.FunctionName, TimeProvider.System.GetUtcNow(), false), CancellationToken.None);
            foreach (var open in (await _trial.Ok("depot", HttpMethod.Get, "shipments")).EnumerateArray().Where(x => x.GetProperty("status").GetString() == "requested" && x.GetProperty("siteId").GetString() == Site).Select(x => x.GetProperty("shipmentId").GetString()!).ToList())
            {
                await DispatchAndReceive(open);
            }
        }

        var (status, body) = await Randomize("P1-001");
        Assert.True(status == HttpStatusCode.Created, $"site still held after every loss was replaced: {(int)status} {body}");
    }

    /// <summary>A 20 + 20 shipment received with every kit damaged: its replacement is capped at 40 kits (a shipment's most); both release orders work.</summary>
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task AllFortyLost_TheReplacementIsCappedAtAShipment_AndEverythingReachesTheShelf(bool sourceFirst)
    {
        var (id, _) = await ReceiveWithDamage(20, 40);
        var replacement = Assert.Single(await Replacements());
        await ReleaseBoth(id, replacement, sourceFirst);

        var view = await _trial.Ok("depot", HttpMethod.Get, $"sites/{Site}/inventory");
        Assert.Empty(view.GetProperty("setAside").EnumerateArray());
        Assert.Equal(40, view.GetProperty("available").GetInt32());
    }
}
