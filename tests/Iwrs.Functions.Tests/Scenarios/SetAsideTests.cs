using System.Net;
using System.Text.Json;

namespace Iwrs.Functions.Tests.Scenarios;

/// <summary>
/// Kits lost after release, on the blinded seed study over HTTP on Azurite: every kit type falls by the number of kits
/// lost, whichever were reported, and the kits set aside for a loss come back with its replacement. The per-type
/// counts are read from the depot manager's (unblinded) inventory; the pharmacist's view lists set-aside kits as shelf
/// kits.
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
        await _trial.ImportKits("depot", ["LJ-CAPS", "PBO-CAPS"], perType: 40);
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

    [Fact]
    public async Task SixReportsInParallel_OnTwoInstances_EveryTypeFallsBySix()
    {
        var kits = await _trial.Stock("depot", "pharm", Site, new Dictionary<string, int> { ["LJ-CAPS"] = 10, ["PBO-CAPS"] = 10 });
        var reported = kits.Order(StringComparer.Ordinal).Take(6).ToList();
        await Task.WhenAll(reported.Select((k, i) => Report(i % 2 == 0 ? _trial : _other, k)));

        var (byType, setAside) = await Unblinded();
        Assert.Equal(4, byType["LJ-CAPS"]);
        Assert.Equal(4, byType["PBO-CAPS"]);

        // Two types, six kits lost: 6 − (lost of the type) of each, six in all; none of them a reported kit.
        Assert.Equal(6, setAside.Count);
        Assert.Empty(setAside.Intersect(reported));

        // The pharmacist's shelf is every kit physically there: fourteen, set-aside ones among them, no types.
        var blinded = await _trial.Ok("pharm", HttpMethod.Get, $"sites/{Site}/inventory");
        Assert.Equal(14, blinded.GetProperty("available").GetInt32());
        Assert.False(blinded.TryGetProperty("setAside", out var hidden) && hidden.ValueKind != JsonValueKind.Null);

        // One replacement per loss, each the lost kit's type plus one of each: three kits.
        var shipments = (await _trial.Ok("depot", HttpMethod.Get, "shipments")).EnumerateArray().Where(s => s.GetProperty("reason").GetString() == "replacement").ToList();
        Assert.Equal(6, shipments.Count);
        Assert.All(shipments, s => Assert.Equal(3, s.GetProperty("kitCount").GetInt32()));

        // Released, every replacement returns its loss's kits: nothing set aside, the types level again. Per type: 4,
        // plus one kit from every replacement (6) and one more from each for a kit of the type (n), plus the kits of the
        // type set aside for the other type's losses (6 − n): 16.
        foreach (var id in await Replacements())
        {
            await _trial.Ok("depot", HttpMethod.Post, $"shipments/{id}/dispatch");
            var numbers = (await _trial.Ok("depot", HttpMethod.Get, "shipments")).EnumerateArray().Single(s => s.GetProperty("shipmentId").GetString() == id)
                .GetProperty("kits").EnumerateArray().Select(k => new { kitNumber = k.GetProperty("kitNumber").GetString(), condition = "ok" }).ToList();
            await _trial.Ok("pharm", HttpMethod.Post, $"shipments/{id}/receive", new { kits = numbers });
        }

        (byType, setAside) = await Unblinded();
        Assert.Empty(setAside);
        Assert.Equal(16, byType["LJ-CAPS"]);
        Assert.Equal(16, byType["PBO-CAPS"]);
    }

    [Fact]
    public async Task ReportingASetAsideKit_AnswersAsAnyOther_AndItsLossStillReturnsInFull()
    {
        var kits = await _trial.Stock("depot", "pharm", Site, new Dictionary<string, int> { ["LJ-CAPS"] = 5, ["PBO-CAPS"] = 5 });
        var first = kits.Order(StringComparer.Ordinal).First();
        var shelfAnswer = await Report(_trial, first);
        var (_, setAside) = await Unblinded();
        var aside = Assert.Single(setAside);

        // The set-aside kit is on the shelf as the pharmacist sees it, and reporting it answers alike.
        var blinded = await _trial.Ok("pharm", HttpMethod.Get, $"sites/{Site}/inventory");
        Assert.Contains(blinded.GetProperty("kits").EnumerateArray(), k => k.GetProperty("kitNumber").GetString() == aside);
        var asideAnswer = await Report(_trial, aside);
        Assert.Equal(shelfAnswer.GetRawText().Replace(first, "KIT", StringComparison.Ordinal), asideAnswer.GetRawText().Replace(aside, "KIT", StringComparison.Ordinal));

        // A usable kit of its type stood in for it in the first loss; the second set aside one of the other type.
        var (byType, now) = await Unblinded();
        Assert.Equal(2, now.Count);
        Assert.DoesNotContain(aside, now);
        Assert.Equal(3, byType["LJ-CAPS"]);
        Assert.Equal(3, byType["PBO-CAPS"]);

        foreach (var id in await Replacements())
        {
            await _trial.Ok("depot", HttpMethod.Post, $"shipments/{id}/dispatch");
            var numbers = (await _trial.Ok("depot", HttpMethod.Get, "shipments")).EnumerateArray().Single(s => s.GetProperty("shipmentId").GetString() == id)
                .GetProperty("kits").EnumerateArray().Select(k => new { kitNumber = k.GetProperty("kitNumber").GetString(), condition = "ok" }).ToList();
            await _trial.Ok("pharm", HttpMethod.Post, $"shipments/{id}/receive", new { kits = numbers });
        }

        // 3 + 3 replacement kits + 1 returned, of each type.
        (byType, now) = await Unblinded();
        Assert.Empty(now);
        Assert.Equal(7, byType["LJ-CAPS"]);
        Assert.Equal(7, byType["PBO-CAPS"]);
    }

    [Theory]
    [InlineData("LJ-CAPS")]
    [InlineData("PBO-CAPS")]
    public async Task ReportingAKit_WhenAFallOfOneLeavesATypeShort_HoldsAndQuarantinesWhicheverKitItWas(string reportedType)
    {
        // One probiotic kit and three placebo: losing any one kit leaves the probiotic at none once the types fall alike.
        var kits = await _trial.Stock("depot", "pharm", Site, new Dictionary<string, int> { ["LJ-CAPS"] = 1, ["PBO-CAPS"] = 3 });
        var typed = (await _trial.Ok("depot", HttpMethod.Get, $"sites/{Site}/inventory")).GetProperty("kits").EnumerateArray()
            .ToDictionary(k => k.GetProperty("kitNumber").GetString()!, k => k.GetProperty("kitType").GetString()!);
        var kit = kits.First(k => typed[k] == reportedType);
        await Report(_trial, kit);

        var blinded = await _trial.Ok("pharm", HttpMethod.Get, $"sites/{Site}/inventory");
        Assert.Equal(0, blinded.GetProperty("available").GetInt32());
        await _trial.Fails("coord", HttpMethod.Post, "subjects/SA-001/randomize", new { siteId = Site, eligibilityConfirmed = true, stratificationFactors = Stratum }, HttpStatusCode.Conflict, "supply-hold");

        // The hold settled the loss: no replacement in the lost kit's type, an urgent order instead.
        var reasons = (await _trial.Ok("depot", HttpMethod.Get, "shipments")).EnumerateArray().Select(s => s.GetProperty("reason").GetString()).ToList();
        Assert.DoesNotContain("replacement", reasons);
        Assert.Contains("urgent", reasons);
        Assert.Empty((await Unblinded()).SetAside);
    }
}
