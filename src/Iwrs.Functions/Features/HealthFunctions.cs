using System.ComponentModel;
using Microsoft.AspNetCore.Authorization;
using Azure.Data.Tables;
using Iwrs.Storage;
using Microsoft.Azure.Functions.Worker;

namespace Iwrs.Functions.Features;

public sealed class HealthFunctions(TableServiceClient storage, TimeProvider time)
{
    public sealed record Health(string Status, string Storage, DateTimeOffset CheckedAt);

    /// <summary>Storage gets this long to answer; a health probe must not hang behind the retry policy.</summary>
    public static readonly TimeSpan StorageProbeTimeout = TimeSpan.FromSeconds(5);

    [Function("Health")]
    [AllowAnonymous]
    [Description("Whether the service and its storage answer.")]
    public async Task<IResult> Check([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "health")] HttpRequest req, CancellationToken ct)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(StorageProbeTimeout);
        try
        {
            await storage.PingAsync(timeout.Token);
            return TypedResults.Ok(new Health("healthy", "reachable", time.GetUtcNow()));
        }
        catch (Exception e) when (StorageFailure.IsStorageError(e) && !ct.IsCancellationRequested)
        {
            req.HttpContext.Response.Headers.RetryAfter = Errors.ExceptionProblems.RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
            return TypedResults.Json(new Health("unhealthy", "unreachable", time.GetUtcNow()), statusCode: StatusCodes.Status503ServiceUnavailable);
        }
    }
}
