namespace Iwrs.Storage.Stores;

/// <summary>
/// A table or container created on first use. A failed creation (storage down at start) is not cached, so the app
/// starts without storage and recovers when it comes back; concurrent first uses share one creation.
/// </summary>
public sealed class CreatedOnFirstUse<T>(Func<CancellationToken, Task<T>> create)
{
    private readonly Lock _gate = new();
    private Task<T>? _ready;

    public Task<T> GetAsync(CancellationToken ct)
    {
        lock (_gate)
        {
            if (_ready is null || _ready.IsFaulted || _ready.IsCanceled)
            {
                _ready = create(ct);
            }

            return _ready;
        }
    }
}
