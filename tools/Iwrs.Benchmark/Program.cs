using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using Iwrs.Azurite;
using Iwrs.Benchmark;
using Iwrs.LocalHost;
using Azure.Data.Tables;
using Iwrs.Storage;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

// Randomize latency of the real app: its own Azurite (in memory) + two local-host instances on Kestrel + real HTTP, compared with one
// bare entity-group transaction on the same Azurite. See README.md in this folder.

const string Study = "LJ-MCRC";
const string Admin = "bench-admin";
string[] sites = ["CN01", "CN02", "CN03"];
string[] kitTypes = ["LJ-CAPS", "PBO-CAPS"];
(string Ecog, string LiverMets)[] strata = [("0", "yes"), ("0", "no"), ("1", "yes"), ("1", "no")];

Options options;
try
{
    options = Options.Parse(args);
}
catch (ArgumentException e)
{
    Console.Error.WriteLine(e.Message);
    Console.Error.WriteLine(Options.Usage);
    return 64;
}

var total = Stopwatch.StartNew();
var root = AzuriteEmulator.RepositoryRoot();
Console.WriteLine($"Iwrs randomize benchmark: {options}");
Console.WriteLine("Starting Azurite (in memory) and the app on Kestrel ...");

using var azurite = await AzuriteEmulator.StartAsync(new AzuriteOptions { RepositoryRoot = root, Silent = true, ForwardErrors = true });
var counter = new StorageCounter();

// Two app instances on one table, as two Functions instances on one storage account: the concurrent clients are
// spread over both, so contention between instances is measured, not only inside one.
var signingKey = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
var appUrls = new[] { AzuriteEmulator.FreePort(), AzuriteEmulator.FreePort() }.Select(p => $"http://127.0.0.1:{p.ToString(CultureInfo.InvariantCulture)}").ToArray();
var apps = appUrls.Select(url => LocalFunctionsHost.Build(["--environment", "Development", "--urls", url, "--contentRoot", Path.Combine(root, "tools", "Iwrs.LocalHost")], builder =>
{
    builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
    {
        ["Storage:ConnectionString"] = azurite.ConnectionString,
        ["Storage:TableName"] = "iwrsbench",
        ["Auth:Development:Enabled"] = "true",
        ["Auth:Development:SigningKey"] = signingKey,
        ["Auth:BootstrapAdministrators:0"] = Admin,
        ["Timers:RunLocally"] = "false",
        ["Logging:LogLevel:Default"] = "Warning",
    });

    // A new handler per call of the factory lambda; the counter is what they share.
    builder.Services.AddHttpClient("table-storage").AddHttpMessageHandler(() => new CountingHandler(counter));
})).ToArray();

try
{
    foreach (var instance in apps)
    {
        await instance.StartAsync();
    }

    var https = appUrls.Select(url => new HttpClient(new SocketsHttpHandler { PooledConnectionIdleTimeout = TimeSpan.FromMinutes(10) }) { BaseAddress = new Uri(url), Timeout = TimeSpan.FromMinutes(2) }).ToArray();
    var instances = https.Select(h => new Api(h, Study)).ToArray();
    var api = instances[0];

    // ---- 1. Setup: study, roles, kits to every site, the list. ----
    var setup = Stopwatch.StartNew();
    var totalRandomizations = options.Warmup + options.Sequential + options.Concurrent;
    var perSite = (totalRandomizations + sites.Length - 1) / sites.Length;
    var kitsPerTypePerSite = ((perSite + 1) / 2) + Math.Max(15, perSite / 3);
    var slotsPerStratum = Math.Max(100, 2 * ((totalRandomizations + strata.Length - 1) / strata.Length));

    var loaded = await api.OkAsync(Admin, HttpMethod.Put, $"/api/studies/{Study}", rawJson: await File.ReadAllTextAsync(Path.Combine(root, "studies", "lj-mcrc.json")));
    var grants = new List<(string User, string Role, string? Site)> { ("depot", "depot-manager", null), ("stat", "unblinded-statistician", null) };
    foreach (var site in sites)
    {
        grants.Add(($"coord-{site.ToLowerInvariant()}", "site-coordinator", site));
        grants.Add(($"pharm-{site.ToLowerInvariant()}", "pharmacist", site));
    }

    foreach (var (user, role, site) in grants)
    {
        await api.OkAsync(Admin, HttpMethod.Post, "role-assignments", new { userId = user, role, siteId = site });
    }

    var expiry = DateOnly.FromDateTime(TimeProvider.System.GetUtcNow().UtcDateTime).AddYears(2).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
    var numbers = new HashSet<string>(StringComparer.Ordinal);
    var kits = new List<object>();
    foreach (var type in kitTypes)
    {
        for (var i = 0; i < kitsPerTypePerSite * sites.Length; i++)
        {
            string number;
            do
            {
                number = new string(RandomNumberGenerator.GetItems<char>("ABCDEFGHJKLMNPQRSTUVWXYZ23456789", 8));
            }
            while (!numbers.Add(number));
            kits.Add(new { kitNumber = number, kitType = type, lot = "LOT-1", expiry }); // a blinded lot carries every type
        }
    }

    var imported = await api.OkAsync("depot", HttpMethod.Post, "kits/import", new { kits });
    if (imported.GetProperty("imported").GetInt32() != kits.Count)
    {
        throw new BenchmarkFailedException($"Imported {imported.GetRawText()}, expected {kits.Count} new kits.");
    }

    var shipments = 0;
    foreach (var site in sites)
    {
        // A blinded study ships every kit type together: 20 of each per shipment.
        {
            for (var left = kitsPerTypePerSite; left > 0; left -= 20)
            {
                var perType = Math.Min(20, left);
                var count = perType * kitTypes.Length;
                var shipment = await api.OkAsync("depot", HttpMethod.Post, "shipments", new { siteId = site, kits = kitTypes.ToDictionary(t => t, _ => perType) });
                var id = shipment.GetProperty("shipmentId").GetString()!;
                await api.OkAsync("depot", HttpMethod.Post, $"shipments/{id}/dispatch");
                var shipped = shipment.GetProperty("kits").EnumerateArray().Select(k => k.GetProperty("kitNumber").GetString()!).ToList();
                if (shipped.Count != count)
                {
                    throw new BenchmarkFailedException($"Shipment {id} to {site} holds {shipped.Count} kits, asked for {count}.");
                }

                var received = await api.OkAsync($"pharm-{site.ToLowerInvariant()}", HttpMethod.Post, $"shipments/{id}/receive", new { kits = shipped.Select(n => new { kitNumber = n, condition = "ok" }) });
                if (received.GetProperty("status").GetString() != "received")
                {
                    throw new BenchmarkFailedException($"Shipment {id} to {site} not fully received: {received.GetRawText()}");
                }

                shipments++;
            }
        }
    }

    var available = new List<string>();
    foreach (var site in sites)
    {
        var inventory = await api.OkAsync("depot", HttpMethod.Get, $"sites/{site}/inventory");
        available.Add($"{site} {inventory.GetProperty("available").GetInt32()}");
    }

    var list = await api.OkAsync("stat", HttpMethod.Post, "randomization-list/generate", new { slotsPerStratum });
    var coordinatorTokens = new Dictionary<string, string>(StringComparer.Ordinal);
    foreach (var site in sites)
    {
        coordinatorTokens[site] = await api.TokenAsync($"coord-{site.ToLowerInvariant()}");
    }

    Console.WriteLine($"Setup in {Stats.F(setup.Elapsed.TotalSeconds)} s: {Study} {loaded.GetProperty("outcome").GetString()}, {grants.Count} roles, {kits.Count} kits imported, "
        + $"{shipments} shipments (<= 40 kits) dispatched and received, available {string.Join(", ", available)}; list {list.GetProperty("commitment").GetString()![..12]}…, {slotsPerStratum} slots/stratum.");

    // Subject i: site i mod 3, stratum (i / 3) mod 4, so every phase walks every site x stratum pair.
    var nextSubject = 0;
    Task<RandomizeOutcome> Randomize(int index, Api? via = null)
    {
        var site = sites[index % sites.Length];
        var (ecog, liver) = strata[index / sites.Length % strata.Length];
        return (via ?? api).RandomizeAsync(coordinatorTokens[site], $"BM-{index:D5}", site, ecog, liver);
    }

    var writeConflicts = new Dictionary<string, int>(StringComparer.Ordinal) { ["warm-up"] = 0, ["1 client"] = 0, ["clients"] = 0 };
    var firstConflictBody = (string?)null;
    bool Accept(RandomizeOutcome outcome, int index, string phase)
    {
        if (outcome.IsCreated)
        {
            return true;
        }

        if (outcome.IsWriteConflict)
        {
            lock (writeConflicts)
            {
                writeConflicts[phase]++;
                firstConflictBody ??= outcome.Body;
            }

            return false;
        }

        throw new BenchmarkFailedException($"Randomizing BM-{index:D5} ({phase}) failed: {outcome.Status} {outcome.Body}");
    }

    async Task<(List<double> Latencies, TimeSpan Wall)> RunConcurrentAsync(int count, int clients, string phase)
    {
        var first = nextSubject;
        nextSubject += count;
        var taken = first - 1;
        var latencies = new double[count];
        var ok = new bool[count];
        var wall = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, clients).Select(client => Task.Run(async () =>
        {
            var via = instances[client % instances.Length];
            for (var index = Interlocked.Increment(ref taken); index < first + count; index = Interlocked.Increment(ref taken))
            {
                var outcome = await Randomize(index, via);
                ok[index - first] = Accept(outcome, index, phase);
                latencies[index - first] = outcome.Milliseconds;
            }
        })));
        wall.Stop();
        return ([.. latencies.Where((_, i) => ok[i])], wall.Elapsed);
    }

    // ---- 2a. Warm-up (not counted): a few sequential, then one round per client to open the connections. ----
    for (var i = 0; i < options.WarmupSequential; i++)
    {
        Accept(await Randomize(nextSubject++), nextSubject - 1, "warm-up");
    }

    await RunConcurrentAsync(options.Warmup - options.WarmupSequential, options.Clients, "warm-up");

    // ---- 3. Bare entity-group transaction: 8 small inserts per $batch, own table, own HttpClient, the SDK's TableClient as the app builds it. ----
    using var batchHttp = new HttpClient(new SocketsHttpHandler()) { Timeout = Timeout.InfiniteTimeSpan };
    var tables = StorageClients.FromConnectionString(azurite.ConnectionString, batchHttp, new StorageRetryOptions());
    var batchTable = tables.GetTableClient("benchbatch");
    await batchTable.CreateIfNotExistsAsync();
    var batchLatencies = new List<double>();
    for (var b = 0; b < options.BatchWarmup + options.Batches; b++)
    {
        var actions = Enumerable.Range(0, 8).Select(k => new TableTransactionAction(
            TableTransactionActionType.Add,
            new TableEntity("bench", $"{b:D6}-{k}") { ["Kind"] = "bench", ["Index"] = k, ["Note"] = "eight small entities, one transaction" })).ToList();
        var start = Stopwatch.GetTimestamp();
        await batchTable.SubmitTransactionAsync(actions);
        var elapsed = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        if (b >= options.BatchWarmup)
        {
            batchLatencies.Add(elapsed);
        }
    }

    var batch = new Stats(batchLatencies);

    // ---- 2b. One client, sequential, with the storage requests of each randomization. ----
    var sequentialLatencies = new List<double>();
    var perRequest = new List<StorageSnapshot>();
    var sequentialBefore = counter.Snapshot();
    var sequentialTimings = counter.TimingCount;
    var sequentialWall = Stopwatch.StartNew();
    for (var i = 0; i < options.Sequential; i++)
    {
        var index = nextSubject++;
        var before = counter.Snapshot();
        var outcome = await Randomize(index);
        var used = counter.Snapshot() - before;
        if (Accept(outcome, index, "1 client"))
        {
            sequentialLatencies.Add(outcome.Milliseconds);
            perRequest.Add(used);
        }
    }

    sequentialWall.Stop();
    var sequentialStorage = counter.Snapshot() - sequentialBefore;
    var storageTimes = counter.Timings(sequentialTimings);
    var readTime = new Stats(storageTimes.Where(t => !t.Batch).Select(t => t.Milliseconds));
    var batchTime = new Stats(storageTimes.Where(t => t.Batch).Select(t => t.Milliseconds));
    var one = new Stats(sequentialLatencies);

    // ---- 2c. N clients at once. ----
    var concurrentBefore = counter.Snapshot();
    var (concurrentLatencies, concurrentWall) = await RunConcurrentAsync(options.Concurrent, options.Clients, "clients");
    var concurrentStorage = counter.Snapshot() - concurrentBefore;
    var many = new Stats(concurrentLatencies);

    // ---- Report. ----
    var oneThroughput = one.Count / sequentialWall.Elapsed.TotalSeconds;
    var manyThroughput = many.Count / concurrentWall.TotalSeconds;
    var requests = new Stats(perRequest.Select(r => (double)r.Total));
    var reads = new Stats(perRequest.Select(r => (double)r.Reads));
    var writes = new Stats(perRequest.Select(r => (double)r.Writes));
    var n = options.Clients;

    Console.WriteLine();
    Console.WriteLine("Machine: 2 cores, shared (app, Azurite and client on the same box); one run; compare medians, tails are noisy.");
    Console.WriteLine("Latency is client-side wall time per request, ms.");
    Console.WriteLine();
    Console.WriteLine($"{"phase",-30} {"n",5} {"median",8} {"p90",8} {"p99",8} {"max",8} {"per s",8} {"409 write-conflict",19}");
    Row("randomize, 1 client", one, oneThroughput, writeConflicts["1 client"]);
    Row($"randomize, {n} clients / 2 inst.", many, manyThroughput, writeConflicts["clients"]);
    Row("bare $batch (8 inserts)", batch, batch.Count / (batchLatencies.Sum() / 1000), null);
    Console.WriteLine();
    Console.WriteLine("Ratios");
    Console.WriteLine($"  randomize median, 1 client / bare batch median      {Stats.F(one.Median / batch.Median, 2)}");
    Console.WriteLine($"  randomize median, {n} clients / 1 client            {Stats.F(many.Median / one.Median, 2)}");
    Console.WriteLine($"  randomize p99, 1 client / bare batch p99            {Stats.F(one.P99 / batch.P99, 2)}");
    Console.WriteLine($"  randomize p99, {n} clients / 1 client               {Stats.F(many.P99 / one.P99, 2)}");
    Console.WriteLine();
    Console.WriteLine("Storage requests per randomization (app -> Azurite, retries included)");
    Console.WriteLine($"  1 client:  {Stats.F((double)sequentialStorage.Total / one.Count, 2)} total = {Stats.F((double)sequentialStorage.Reads / one.Count, 2)} reads (GET) + {Stats.F((double)sequentialStorage.Writes / one.Count, 2)} writes ({Stats.F((double)sequentialStorage.Batches / one.Count, 2)} $batch)");
    Console.WriteLine($"             per request min/median/max: total {requests.Min}/{requests.Median}/{requests.Max}, reads {reads.Min}/{reads.Median}/{reads.Max}, writes {writes.Min}/{writes.Median}/{writes.Max}");
    Console.WriteLine($"  {n} clients: {Stats.F((double)concurrentStorage.Total / many.Count, 2)} total = {Stats.F((double)concurrentStorage.Reads / many.Count, 2)} reads + {Stats.F((double)concurrentStorage.Writes / many.Count, 2)} writes ({Stats.F((double)concurrentStorage.Batches / many.Count, 2)} $batch; above 1 = lost optimistic-concurrency rounds, re-read and retried)");
    Console.WriteLine($"  1 client, each storage request as the app timed it: read median {Stats.F(readTime.Median)} ms, its transaction median {Stats.F(batchTime.Median)} ms");
    var conflictTotal = writeConflicts.Values.Sum();
    Console.WriteLine();
    Console.WriteLine(conflictTotal == 0
        ? "409 write-conflict failures: none."
        : $"409 write-conflict failures: {conflictTotal} (warm-up {writeConflicts["warm-up"]}, 1 client {writeConflicts["1 client"]}, {n} clients {writeConflicts["clients"]}); first: {firstConflictBody}");
    Console.WriteLine($"Total run time {Stats.F(total.Elapsed.TotalSeconds)} s.");
    Console.WriteLine();

    Count("randomize_1_client_count", one.Count);
    Metric("randomize_1_client_median_ms", one.Median);
    Metric("randomize_1_client_p90_ms", one.P90);
    Metric("randomize_1_client_p99_ms", one.P99);
    Metric("randomize_1_client_max_ms", one.Max);
    Metric("randomize_1_client_throughput_per_s", oneThroughput);
    Count("randomize_1_client_write_conflicts", writeConflicts["1 client"]);
    Count($"randomize_{n}_clients_count", many.Count);
    Metric($"randomize_{n}_clients_median_ms", many.Median);
    Metric($"randomize_{n}_clients_p90_ms", many.P90);
    Metric($"randomize_{n}_clients_p99_ms", many.P99);
    Metric($"randomize_{n}_clients_max_ms", many.Max);
    Metric($"randomize_{n}_clients_throughput_per_s", manyThroughput);
    Count($"randomize_{n}_clients_write_conflicts", writeConflicts["clients"]);
    Count("bare_batch_count", batch.Count);
    Metric("bare_batch_median_ms", batch.Median);
    Metric("bare_batch_p90_ms", batch.P90);
    Metric("bare_batch_p99_ms", batch.P99);
    Metric("bare_batch_max_ms", batch.Max);
    Metric("ratio_randomize_1_client_median_over_bare_batch_median", one.Median / batch.Median, 2);
    Metric($"ratio_randomize_{n}_clients_median_over_1_client_median", many.Median / one.Median, 2);
    Metric("ratio_randomize_1_client_p99_over_bare_batch_p99", one.P99 / batch.P99, 2);
    Metric($"ratio_randomize_{n}_clients_p99_over_1_client_p99", many.P99 / one.P99, 2);
    Metric("storage_requests_per_randomization_1_client", (double)sequentialStorage.Total / one.Count, 2);
    Metric("storage_reads_per_randomization_1_client", (double)sequentialStorage.Reads / one.Count, 2);
    Metric("storage_writes_per_randomization_1_client", (double)sequentialStorage.Writes / one.Count, 2);
    Metric("storage_requests_per_randomization_1_client_min", requests.Min, 0);
    Metric("storage_requests_per_randomization_1_client_median", requests.Median, 1);
    Metric("storage_requests_per_randomization_1_client_max", requests.Max, 0);
    Metric($"storage_requests_per_randomization_{n}_clients", (double)concurrentStorage.Total / many.Count, 2);
    Metric($"storage_batches_per_randomization_{n}_clients", (double)concurrentStorage.Batches / many.Count, 2);
    Count("write_conflicts_total", conflictTotal);
    Metric("total_seconds", total.Elapsed.TotalSeconds);

    // The issue's summary line, last: R = 1-client p50 / bare $batch p50, T = 16-client throughput / 1-client
    // throughput, P = 16-client p99 in ms, N = storage requests per uncontended randomization (median).
    Console.WriteLine(FormattableString.Invariant(
        $"bench: p50-ratio={one.Median / batch.Median:0.00} throughput-ratio={manyThroughput / oneThroughput:0.00} p99-{n}={many.P99:0} requests={requests.Median:0}"));

    // Write conflicts should not happen; the figures are printed, but the run says it went wrong.
    return conflictTotal == 0 ? 0 : 2;
}
catch (BenchmarkFailedException e)
{
    Console.Error.WriteLine();
    Console.Error.WriteLine("Benchmark stopped: " + e.Message);
    return 1;
}
finally
{
    foreach (var instance in apps)
    {
        await instance.StopAsync();
        await instance.DisposeAsync();
    }
}

static void Row(string name, Stats s, double perSecond, int? conflicts) =>
    Console.WriteLine($"{name,-30} {s.Count,5} {Stats.F(s.Median),8} {Stats.F(s.P90),8} {Stats.F(s.P99),8} {Stats.F(s.Max),8} {Stats.F(perSecond),8} {(conflicts is { } c ? c.ToString(CultureInfo.InvariantCulture) : "-"),19}");

static void Metric(string name, double value, int decimals = 1) =>
    Console.WriteLine($"{name}={Stats.F(value, decimals)}");

static void Count(string name, int value) =>
    Console.WriteLine($"{name}={value.ToString(CultureInfo.InvariantCulture)}");
