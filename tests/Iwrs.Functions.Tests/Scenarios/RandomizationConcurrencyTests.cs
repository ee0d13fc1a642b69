using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace Iwrs.Functions.Tests.Scenarios;

/// <summary>
/// Two app instances on one Azurite table, 16 parallel clients, 200 randomizations within one stratum and across
/// strata: distinct numbers, each stratum's slots used in order without gap or reuse, no kit twice, every complete
/// block balanced, and an audit chain that verifies.
/// </summary>
public sealed class RandomizationConcurrencyTests : IAsyncLifetime
{
    private const string Study = "LJ-MCRC";
    private const int Randomizations = 200;
    private const int Clients = 16;

    private readonly IwrsFactory _first = new();
    private IwrsFactory _second = null!;
    private TrialDriver _trial = null!;

    public async Task InitializeAsync()
    {
        _second = new IwrsFactory(tableName: _first.TableName);
        await _first.LoadSeedStudies();
        _trial = new TrialDriver(_first, Study);
        await _first.Grant(Study, "depot", "depot-manager");
        await _first.Grant(Study, "stat", "unblinded-statistician");
        await _first.Grant(Study, "manager", "study-manager");
        foreach (var site in new[] { "CN01", "CN02", "CN03" })
        {
            await _first.Grant(Study, $"pharm-{site}", "pharmacist", site);
            await _first.Grant(Study, $"coord-{site}", "site-coordinator", site);
        }

        // Enough of both kit types at every site for any split the list makes.
        await _trial.ImportKits("depot", ["LJ-CAPS", "PBO-CAPS"], perType: 240);
        foreach (var site in new[] { "CN01", "CN02", "CN03" })
        {
            for (var i = 0; i < 4; i++)
            {
                await _trial.Stock("depot", $"pharm-{site}", site, new Dictionary<string, int> { ["LJ-CAPS"] = 20, ["PBO-CAPS"] = 20 });
            }
        }

        await _trial.Ok("stat", HttpMethod.Post, "randomization-list/generate", new { slotsPerStratum = 120 });
    }

    public async Task DisposeAsync()
    {
        await _second.DisposeAsync();
        await _first.DisposeAsync();
    }

    [Fact]
    public async Task Randomize_16ClientsOnTwoInstances_NoSlotOrKitUsedTwiceAndBlocksBalanced()
    {
        // Half the subjects in one stratum (all contending for the same slots), half spread over the others.
        string[][] strata = [["0", "yes"], ["1", "no"], ["0", "no"], ["1", "yes"]];
        var sites = new[] { "CN01", "CN02", "CN03" };
        var clients = new List<HttpClient>();
        for (var c = 0; c < Clients; c++)
        {
            var site = sites[c % 3];
            clients.Add(await (c % 2 == 0 ? _first : _second).ClientFor($"coord-{site}"));
        }

        var work = Enumerable.Range(0, Randomizations).Select(i => (Subject: $"P{i:D4}", Site: sites[i % 16 % 3], Stratum: i % 2 == 0 ? strata[0] : strata[1 + (i / 2 % 3)])).ToList();
        var queue = new System.Collections.Concurrent.ConcurrentQueue<(string Subject, string Site, string[] Stratum)>(work);
        var failures = new System.Collections.Concurrent.ConcurrentBag<string>();
        await Task.WhenAll(Enumerable.Range(0, Clients).Select(c => Task.Run(async () =>
        {
            while (queue.TryDequeue(out var item))
            {
                // Each client randomizes at its own site; a subject's site is the client's.
                var site = sites[c % 3];
                using var response = await clients[c].PostAsJsonAsync($"/api/studies/{Study}/subjects/{item.Subject}/randomize", new
                {
                    siteId = site,
                    eligibilityConfirmed = true,
                    stratificationFactors = new Dictionary<string, string> { ["ecog"] = item.Stratum[0], ["liver-mets"] = item.Stratum[1] },
                });
                if (response.StatusCode != HttpStatusCode.Created)
                {
                    failures.Add($"{item.Subject}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
                }
            }
        })));
        Assert.True(failures.IsEmpty, $"{failures.Count} failed:\n" + string.Join("\n", failures.Take(3)));

        // The unblinded statistician's view of every subject, and the list itself.
        var subjects = new List<JsonElement>();
        foreach (var (subject, _, _) in work)
        {
            subjects.Add(await _trial.Ok("stat", HttpMethod.Get, $"subjects/{subject}"));
        }

        await AllocationChecks.AssertAsync(_trial, "stat", subjects);
        Assert.Equal(Randomizations / 2, subjects.Count(s => s.GetProperty("stratum").GetString() == "ecog=0;liver-mets=yes"));
        var verify = await _trial.Ok("manager", HttpMethod.Get, "audit/verify");
        Assert.True(verify.GetProperty("intact").GetBoolean(), verify.GetRawText());
    }
}
