using System.Security.Cryptography;
using Iwrs.Domain;
using Iwrs.Storage.Tables;

namespace Iwrs.Storage.Stores;

/// <summary>
/// Read, decide, write once with If-Match on what was read. A 412 (someone changed a row we read) or 409
/// (someone inserted a row we meant to insert) means another writer won: read again and decide again, a
/// bounded number of times with jittered pauses so competing writers spread out.
/// </summary>
public static class OptimisticWrite
{
    public const int MaxAttempts = 8;

    public static async Task<Result<T>> RunAsync<T>(TimeProvider time, Func<CancellationToken, Task<Result<T>>> attempt, CancellationToken ct)
    {
        for (var i = 1; ; i++)
        {
            try
            {
                return await attempt(ct);
            }
            catch (TableTransactionFailedException e) when (e.Status is 409 or 412 && i < MaxAttempts)
            {
                // 5 ms, 10 ms, 20 ms ... capped at 200 ms, times a random factor in [0.5, 1.5).
                var baseMs = Math.Min(200, 5 << Math.Min(i, 6));
                var jitter = 0.5 + (RandomNumberGenerator.GetInt32(1000) / 1000.0);
                await Task.Delay(TimeSpan.FromMilliseconds(baseMs * jitter), time, ct);
            }
            catch (TableTransactionFailedException e) when (e.Status is 409 or 412)
            {
                return new DomainError("write-conflict", "The study changed while this request was being decided too many times in a row; try again.");
            }
        }
    }
}
