using Azure;

namespace Iwrs.Storage;

/// <summary>
/// How a storage failure reads to a caller. The SDK throws <see cref="RequestFailedException"/> for every answer it
/// refused (Status 409, 412… with ErrorCode), and also, with Status 0, when no answer arrived (connection refused,
/// DNS); after its retries are spent on transport failures it throws an <see cref="AggregateException"/> of the
/// attempts; a request that outlives <c>NetworkTimeout</c> ends in a <see cref="TaskCanceledException"/> the caller did
/// not ask for. A 408/429/5xx still there after the SDK's retries also means storage is not serving us right now.
/// </summary>
public static class StorageFailure
{
    /// <summary>
    /// Storage could not be reached or kept failing: the caller should come back later (503 with Retry-After). A
    /// cancellation counts, since the SDK reports its network timeout that way; callers rule out their own
    /// cancellation first.
    /// </summary>
    public static bool IsUnavailable(Exception e) => e switch
    {
        RequestFailedException { Status: 0 or 408 or 429 or >= 500 } => true,
        RequestFailedException => false,
        AggregateException a => a.InnerExceptions.Count > 0 && a.InnerExceptions.All(IsUnavailable),
        HttpRequestException or IOException or OperationCanceledException => true,
        _ => false,
    };

    /// <summary>Any failure of a storage call: refused by the service, or storage unavailable.</summary>
    public static bool IsStorageError(Exception e) => e is RequestFailedException || IsUnavailable(e);
}
