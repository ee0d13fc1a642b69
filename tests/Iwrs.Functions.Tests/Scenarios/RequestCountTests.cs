using Iwrs.Domain.Audit;
using Iwrs.Domain.Subjects;
using Iwrs.Storage.Stores;
using Azure.Data.Tables;
using Iwrs.Functions.Hosting;
using Microsoft.Extensions.DependencyInjection;

namespace Iwrs.Functions.Tests.Scenarios;

/// <summary>
/// An operation reads a bounded number of rows however large the study grows: the storage requests one
/// randomization makes are counted at the transport, with 10 and with 2,000 subjects already randomized.
/// </summary>
public sealed class RequestCountTests : IAsyncLifetime
{
    private const string Study = "LJ-MCRC";
    private static readonly Dictionary<string, string> StratumA = new() { ["ecog"] = "0", ["liver-mets"] = "yes" };

    private readonly RequestCounter _counter = new();
    private IwrsFactory _app = null!;
    private TrialDriver _trial = null!;

    public async Task InitializeAsync()
    {
        _app = new IwrsFactory(services: s => s.AddHttpClient(StorageSetup.HttpClientName).AddHttpMessageHandler(() => new CountingHandler(_counter)));
        await _app.LoadSeedStudies();
        _trial = new TrialDriver(_app, Study);
        await _app.Grant(Study, "depot", "depot-manager");
        await _app.Grant(Study, "stat", "unblinded-statistician");
        await _app.Grant(Study, "pharm", "pharmacist", "CN01");
        await _app.Grant(Study, "coord", "site-coordinator", "CN01");
        await _trial.ImportKits("depot", ["LJ-CAPS", "PBO-CAPS"], perType: 40);
        await _trial.Stock("depot", "pharm", "CN01", new Dictionary<string, int> { ["LJ-CAPS"] = 20, ["PBO-CAPS"] = 20 });
        await _trial.Ok("stat", HttpMethod.Post, "randomization-list/generate", new { slotsPerStratum = 2100 });
    }

    public async Task DisposeAsync() => await _app.DisposeAsync();

    [Fact]
    public async Task Randomize_StudyWith10And2000Subjects_MakesTheSameNumberOfStorageRequests()
    {
        for (var i = 1; i <= 10; i++)
        {
            await Randomize($"A{i:D4}");
        }

        // Right after this instance's own randomization, its view of the state rows is current: no state read.
        var smallWarm = await Counted(() => Randomize("SMALL-W"));

        // Another kind of write in this instance (a shipment request) leaves the view behind: the state is read again.
        await RequestShipment();
        var smallCold = await Counted(() => Randomize("SMALL-C"));

        await GrowStudyTo(2000);
        await RequestShipment();
        var largeCold = await Counted(() => Randomize("LARGE-C"));
        var largeWarm = await Counted(() => Randomize("LARGE-W"));

        Assert.Equal(smallCold, largeCold);
        Assert.Equal(smallWarm, largeWarm);

        // The caller's roles (2), the state rows with the study row (one range read), the site's shelf (one range
        // read), then the stratum's next slots (one range read): 5 reads and the one transaction. When this instance's
        // view is current it knows the state, the shelf and the slots read ahead: the roles only.
        Assert.Equal((5, 1), smallCold);
        Assert.Equal((2, 1), smallWarm);
        var cold = await _trial.Ok("stat", HttpMethod.Get, "subjects/LARGE-C");
        Assert.Equal(2001, cold.GetProperty("listPosition").GetInt32());
        Assert.Equal("R2001", cold.GetProperty("number").GetString());
        var warm = await _trial.Ok("stat", HttpMethod.Get, "subjects/LARGE-W");
        Assert.Equal(2002, warm.GetProperty("listPosition").GetInt32());
        Assert.Equal("R2002", warm.GetProperty("number").GetString());
    }

    private async Task RequestShipment() =>
        await _trial.Ok("depot", HttpMethod.Post, "shipments", new { siteId = "CN01", kits = new Dictionary<string, int> { ["LJ-CAPS"] = 1, ["PBO-CAPS"] = 1 } });

    private async Task Randomize(string subjectId) =>
        await _trial.Ok("coord", HttpMethod.Post, $"subjects/{subjectId}/randomize", new { siteId = "CN01", eligibilityConfirmed = true, stratificationFactors = StratumA });

    private async Task<(int Reads, int Writes)> Counted(Func<Task> action)
    {
        _counter.Reset();
        await action();
        return (_counter.Reads, _counter.Writes);
    }

    /// <summary>
    /// Adds randomized subjects straight into the partition (through the API this would take minutes): subject
    /// rows with their dispensed kit rows and audit records, the stratum's pointer and the number counter moved
    /// past them, as if they had been randomized one by one.
    /// </summary>
    private async Task GrowStudyTo(int subjects)
    {
        var table = await _app.Services.GetRequiredService<IwrsTable>().GetAsync(CancellationToken.None);
        var counter = await SubjectRows.GetCounterAsync(table, Study, CancellationToken.None);
        var pointer = await ListRows.GetPointerAsync(table, Study, "ecog=0;liver-mets=yes", CancellationToken.None);
        var start = (int)counter.Next;
        var now = new DateTimeOffset(2026, 11, 21, 0, 0, 0, TimeSpan.Zero);
        for (var n = start; n <= subjects; n += 24)
        {
            var actions = new StudyChange();
            for (var k = n; k < Math.Min(n + 24, subjects + 1); k++)
            {
                var id = $"F{k:D5}";
                var kit = $"FILL{k:D6}";
                var subject = new Subject(id, "CN01", SubjectStatus.Randomized, $"R{k:D4}", "ecog=0;liver-mets=yes", k, "LJ", "LJ-CAPS", now, "coord",
                    [new Dispensation("C1", kit, now, "coord")], false, null);
                actions.Add(SubjectRows.Insert(Study, subject));
                actions.Add(new TableTransactionAction(TableTransactionActionType.Add, KitRows.ToEntity(Study,
                    new Domain.Supply.Kit(kit, "LJ-CAPS", "LOT-F", new DateOnly(2028, 1, 1), Domain.Supply.KitStatus.Dispensed, "CN01", null, id, "C1"), "00000000")));
            }

            await AuditTrail.SubmitAsync(table, Study, actions, now, new AuditEntry("coord", "site-coordinator", Channel.Http, "subject.randomized", $"subjects:F{n:D5}+", []), CancellationToken.None);
        }

        var advanced = new TableEntity(Study, ListRows.PointerKey("ecog=0;liver-mets=yes")) { ["Next"] = pointer.Next + (subjects - start + 1) };
        await table.UpsertEntityAsync(advanced, TableUpdateMode.Replace);
        var numbers = new TableEntity(Study, SubjectRows.CounterKey) { ["Next"] = (long)subjects + 1 };
        await table.UpsertEntityAsync(numbers, TableUpdateMode.Replace);

        // More than 1,000 rows: the query follows the service's continuation past its first page.
        var count = 0;
        await foreach (var _ in table.QueryPrefixAsync(Study, SubjectRows.Prefix))
        {
            count++;
        }

        Assert.Equal(subjects, count);
    }

    public sealed class RequestCounter
    {
        private int _reads;
        private int _writes;

        public int Reads => _reads;

        public int Writes => _writes;

        public void Reset()
        {
            Interlocked.Exchange(ref _reads, 0);
            Interlocked.Exchange(ref _writes, 0);
        }

        public void Count(HttpMethod method)
        {
            if (method == HttpMethod.Get)
            {
                Interlocked.Increment(ref _reads);
            }
            else
            {
                Interlocked.Increment(ref _writes);
            }
        }
    }

    internal sealed class CountingHandler(RequestCounter counter) : DelegatingHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            counter.Count(request.Method);
            return base.SendAsync(request, cancellationToken);
        }
    }
}
