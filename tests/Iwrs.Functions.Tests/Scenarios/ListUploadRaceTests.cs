using System.Net;
using Iwrs.Functions.Hosting;
using Microsoft.Extensions.DependencyInjection;

namespace Iwrs.Functions.Tests.Scenarios;

/// <summary>
/// Two list uploads on two instances, interleaved where it hurts (attacker review): the second has found no active
/// list and is about to take the staging lock when the first activates and releases it. The second must not write
/// its slots over the active list's (they share row keys), and the active list stays whole and usable.
/// </summary>
public sealed class ListUploadRaceTests : IAsyncLifetime
{
    private const string Study = "LJ-MCRC";

    private readonly BeforeStagingLock _gate = new();
    private IwrsFactory _first = null!;
    private IwrsFactory _second = null!;
    private TrialDriver _viaFirst = null!;
    private TrialDriver _viaSecond = null!;

    public async Task InitializeAsync()
    {
        _first = new IwrsFactory();
        _second = new IwrsFactory(tableName: _first.TableName, services: s => s.AddHttpClient(StorageSetup.HttpClientName).AddHttpMessageHandler(() => new GateHandler(_gate)));
        await _first.LoadSeedStudies();
        _viaFirst = new TrialDriver(_first, Study);
        _viaSecond = new TrialDriver(_second, Study);
        await _first.Grant(Study, "depot", "depot-manager");
        await _first.Grant(Study, "stat", "unblinded-statistician");
        await _first.Grant(Study, "pharm", "pharmacist", "CN01");
        await _first.Grant(Study, "coord", "site-coordinator", "CN01");
        await _viaFirst.ImportKits("depot", ["LJ-CAPS", "PBO-CAPS"], perType: 20);
        await _viaFirst.Stock("depot", "pharm", "CN01", new Dictionary<string, int> { ["LJ-CAPS"] = 10, ["PBO-CAPS"] = 10 });
    }

    public async Task DisposeAsync()
    {
        await _second.DisposeAsync();
        await _first.DisposeAsync();
    }

    [Fact]
    public async Task AnUploadThatFoundNoList_WhenAnotherActivatesBeforeItsLock_WritesNoSlotAndTheActiveListStaysWhole()
    {
        // The first instance's whole upload runs while the second's request waits at its lock insert.
        var firstAnswer = (HttpStatusCode)0;
        var firstList = default(System.Text.Json.JsonElement);
        _gate.Arm(async () => (firstAnswer, firstList) = await _viaFirst.Send("stat", HttpMethod.Post, "randomization-list/generate", new { slotsPerStratum = 12 }));

        var (second, problem) = await _viaSecond.Send("stat", HttpMethod.Post, "randomization-list/generate", new { slotsPerStratum = 20 });

        Assert.True(_gate.Ran, "The second upload never reached its staging lock.");
        Assert.Equal(HttpStatusCode.Created, firstAnswer);
        Assert.Equal(HttpStatusCode.Conflict, second);
        Assert.Equal("list-already-active", problem.GetProperty("code").GetString());

        // The active list is the first one, as it was stored: it exports (its slots still match its commitment)
        // and randomizes.
        using var export = await (await _viaFirst.Client("stat")).GetAsync($"/api/studies/{Study}/randomization-list/export");
        Assert.True(export.StatusCode == HttpStatusCode.OK, $"{(int)export.StatusCode} {await export.Content.ReadAsStringAsync()}");
        var summary = await _viaFirst.Ok("stat", HttpMethod.Get, "randomization-list");
        Assert.Equal(firstList.GetProperty("commitment").GetString(), summary.GetProperty("commitment").GetString());
        Assert.Equal(firstList.GetProperty("slotsPerStratum").GetRawText(), summary.GetProperty("slotsPerStratum").GetRawText());
        var subject = await _viaFirst.Ok("coord", HttpMethod.Post, "subjects/U001/randomize", new
        {
            siteId = "CN01",
            eligibilityConfirmed = true,
            stratificationFactors = new Dictionary<string, string> { ["ecog"] = "0", ["liver-mets"] = "yes" },
        });
        Assert.Equal("R0001", subject.GetProperty("number").GetString());
    }

    /// <summary>Runs an armed action once, just before the second instance inserts the staging lock row.</summary>
    private sealed class BeforeStagingLock
    {
        private Func<Task>? _action;

        public bool Ran { get; private set; }

        public void Arm(Func<Task> action) => _action = action;

        public async Task BeforeAsync(HttpRequestMessage request)
        {
            if (Volatile.Read(ref _action) is null || request.Method != HttpMethod.Post || request.Content is null
                || request.RequestUri!.AbsolutePath.EndsWith("$batch", StringComparison.Ordinal))
            {
                return;
            }

            await request.Content.LoadIntoBufferAsync();
            var body = await request.Content.ReadAsStringAsync();
            if (body.Contains("\"list-staging\"", StringComparison.Ordinal) && Interlocked.Exchange(ref _action, null) is { } action)
            {
                await action();
                Ran = true;
            }
        }
    }

    private sealed class GateHandler(BeforeStagingLock gate) : DelegatingHandler
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            await gate.BeforeAsync(request);
            return await base.SendAsync(request, cancellationToken);
        }
    }
}
