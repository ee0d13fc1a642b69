using Azure.Data.Tables;
using Iwrs.Storage;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Iwrs.Functions.Features;

public static class HealthEndpoints
{
    public sealed record Health(string Status, string Storage, DateTimeOffset CheckedAt);

    /// <summary>Storage gets this long to answer; a health probe must not hang behind the retry policy.</summary>
    public static readonly TimeSpan StorageProbeTimeout = TimeSpan.FromSeconds(5);

    public static void MapHealth(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/health", Check).AllowAnonymous().WithName("Health").WithSummary("Whether the service and its storage answer.");

        // The Functions host waits for GET / to answer before it forwards anything to the custom handler.
        app.MapGet("/", () => TypedResults.Text("Iwrs")).AllowAnonymous().ExcludeFromDescription();
    }

    private static async Task<Results<Ok<Health>, JsonHttpResult<Health>>> Check(TableServiceClient storage, TimeProvider time, HttpContext context, CancellationToken ct)
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
            context.Response.Headers.RetryAfter = Errors.ErrorHandler.RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
            return TypedResults.Json(new Health("unhealthy", "unreachable", time.GetUtcNow()), statusCode: StatusCodes.Status503ServiceUnavailable);
        }
    }
}
