namespace Iwrs.Benchmark;

/// <summary>Storage requests the app made, by kind; read and snapshotted from the benchmark while the app runs.</summary>
public sealed class StorageCounter
{
    private long _reads;
    private long _writes;
    private long _batches;
    private readonly List<(bool Batch, double Milliseconds)> _timings = [];

    /// <summary>How long each storage request took, in the order they finished, from <paramref name="from"/> on.</summary>
    public IReadOnlyList<(bool Batch, double Milliseconds)> Timings(int from)
    {
        lock (_timings)
        {
            return _timings.Skip(from).ToList();
        }
    }

    public int TimingCount
    {
        get
        {
            lock (_timings)
            {
                return _timings.Count;
            }
        }
    }

    public void Time(HttpRequestMessage request, double milliseconds)
    {
        lock (_timings)
        {
            _timings.Add((IsBatch(request), milliseconds));
        }
    }

    private static bool IsBatch(HttpRequestMessage request) =>
        request.Method == HttpMethod.Post && request.RequestUri is { } uri && uri.AbsolutePath.EndsWith("/$batch", StringComparison.Ordinal);

    public StorageSnapshot Snapshot() => new(Interlocked.Read(ref _reads), Interlocked.Read(ref _writes), Interlocked.Read(ref _batches));

    public void Count(HttpRequestMessage request)
    {
        if (request.Method == HttpMethod.Get)
        {
            Interlocked.Increment(ref _reads);
            return;
        }

        Interlocked.Increment(ref _writes);
        if (IsBatch(request))
        {
            Interlocked.Increment(ref _batches);
        }
    }
}

/// <summary>Reads are GETs (point reads and queries); writes are everything else, of which batches are entity-group transactions.</summary>
public readonly record struct StorageSnapshot(long Reads, long Writes, long Batches)
{
    public long Total => Reads + Writes;

    public static StorageSnapshot operator -(StorageSnapshot after, StorageSnapshot before) =>
        new(after.Reads - before.Reads, after.Writes - before.Writes, after.Batches - before.Batches);
}

/// <summary>
/// Added to the app's "table-storage" HttpClient: counts every request that leaves for storage, retries included.
/// IHttpClientFactory asks for a new instance per handler chain, so the shared state is the counter, not the handler.
/// </summary>
public sealed class CountingHandler(StorageCounter counter) : DelegatingHandler
{
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        counter.Count(request);
        var start = System.Diagnostics.Stopwatch.GetTimestamp();
        var response = await base.SendAsync(request, cancellationToken);
        counter.Time(request, System.Diagnostics.Stopwatch.GetElapsedTime(start).TotalMilliseconds);
        return response;
    }
}
