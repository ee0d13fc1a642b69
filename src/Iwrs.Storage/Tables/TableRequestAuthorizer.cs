namespace Iwrs.Storage.Tables;

/// <summary>
/// Adds the Authorization header to a request that is about to be sent. Runs once per attempt, after the
/// <c>x-ms-date</c> header is set, because a retried request is a new message with a new date and signature.
/// </summary>
internal abstract class TableRequestAuthorizer
{
    public abstract ValueTask AuthorizeAsync(HttpRequestMessage request, DateTimeOffset now, CancellationToken cancellationToken);
}
