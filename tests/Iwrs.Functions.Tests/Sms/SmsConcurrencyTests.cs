using System.Collections.Concurrent;
using System.Text.Json;
using Iwrs.Domain.Audit;
using Iwrs.Functions.Tests.Scenarios;

namespace Iwrs.Functions.Tests.Sms;

/// <summary>
/// 16 phones randomize by SMS at once, half through each of two app instances on one Azurite table: the guarantees of
/// the HTTP concurrency test (<see cref="RandomizationConcurrencyTests"/>) hold — distinct numbers, each stratum's
/// slots used in order without gap or reuse, no kit twice, every subject the arm of its slot, complete blocks
/// balanced, an audit chain that verifies — and every randomization's record says sms.
/// </summary>
public sealed class SmsConcurrencyTests : IAsyncLifetime
{
    private const string Study = SmsHarness.Lj;
    private const int Phones = 16;
    private static readonly string[] Sites = ["CN01", "CN02", "CN03"];

    private SmsHarness _h = null!;
    private IwrsFactory _second = null!;

    private static string Phone(int c) => $"+1555020{c:D4}";

    public async Task InitializeAsync()
    {
        var people = new List<(string, string, string, string?, string?)>
        {
            (Study, "depot", "depot-manager", null, null),
            (Study, "stat", "unblinded-statistician", null, null),
            (Study, "manager", "study-manager", null, null),
        };
        people.AddRange(Sites.Select(s => (Study, $"pharm-{s}", "pharmacist", (string?)s, (string?)null)));
        people.AddRange(Enumerable.Range(0, Phones).Select(c => (Study, $"coord-{c}", "site-coordinator", (string?)Sites[c % 3], (string?)Phone(c))));
        _h = await SmsHarness.StartAsync(people, manualClock: false);
        _second = new IwrsFactory(tableName: _h.App.TableName, settings: SmsHarness.Settings(_h.Twilio));
        await _h.Lj_.ImportKits("depot", ["LJ-CAPS", "PBO-CAPS"], perType: 60);
        foreach (var site in Sites)
        {
            await _h.Lj_.Stock("depot", $"pharm-{site}", site, new Dictionary<string, int> { ["LJ-CAPS"] = 12, ["PBO-CAPS"] = 12 });
        }

        await _h.Lj_.Ok("stat", HttpMethod.Post, "randomization-list/generate", new { slotsPerStratum = 24 });
    }

    public async Task DisposeAsync()
    {
        await _second.DisposeAsync();
        await _h.DisposeAsync();
    }

    [Fact]
    public async Task Rand_16PhonesOnTwoInstances_NoSlotOrKitUsedTwiceAndBlocksBalanced()
    {
        // Half the subjects in one stratum (all contending for its slots), half spread over the others.
        string[][] strata = [["0", "yes"], ["1", "no"], ["0", "no"], ["1", "yes"]];
        var failures = new ConcurrentBag<string>();
        var replies = new ConcurrentDictionary<string, string>();
        await Task.WhenAll(Enumerable.Range(0, Phones).Select(c => Task.Run(async () =>
        {
            var stratum = c % 2 == 0 ? strata[0] : strata[1 + (c / 2 % 3)];
            var app = c % 2 == 0 ? _h.App : _second;
            var subject = $"P{c:D4}";
            var prompt = (await _h.Sms(Phone(c), $"RAND {Study} {subject} {Sites[c % 3]} ecog={stratum[0]} liver-mets={stratum[1]} {SmsHarness.Pin}", app: app)).Reply ?? string.Empty;
            var code = System.Text.RegularExpressions.Regex.Match(prompt, "reply ([A-Z2-9]{6}) ").Groups[1].Value;
            var done = (await _h.Sms(Phone(c), code, app: app)).Reply ?? string.Empty;
            if (!done.Contains(": randomized, number R", StringComparison.Ordinal))
            {
                failures.Add($"{subject}: {prompt} / {done}");
            }

            replies[subject] = done;
        })));
        Assert.True(failures.IsEmpty, $"{failures.Count} failed:\n" + string.Join("\n", failures.Take(3)));

        var subjects = new List<JsonElement>();
        foreach (var c in Enumerable.Range(0, Phones))
        {
            var subject = await _h.Lj_.Ok("stat", HttpMethod.Get, $"subjects/P{c:D4}");
            Assert.Contains($"number {subject.GetProperty("number").GetString()}. Dispense kit {subject.GetProperty("dispensations")[0].GetProperty("kitNumber").GetString()} ", replies[$"P{c:D4}"], StringComparison.Ordinal);
            subjects.Add(subject);
        }

        await AllocationChecks.AssertAsync(_h.Lj_, "stat", subjects);
        Assert.Equal(Phones / 2, subjects.Count(s => s.GetProperty("stratum").GetString() == "ecog=0;liver-mets=yes"));
        var randomized = (await _h.AuditAsync(Study)).Where(r => r.Action == "subject.randomized").ToList();
        Assert.Equal(Phones, randomized.Count);
        Assert.All(randomized, r => Assert.Equal(Channel.Sms, r.Channel));
        var verify = await _h.Lj_.Ok("manager", HttpMethod.Get, "audit/verify");
        Assert.True(verify.GetProperty("intact").GetBoolean(), verify.GetRawText());
    }
}
