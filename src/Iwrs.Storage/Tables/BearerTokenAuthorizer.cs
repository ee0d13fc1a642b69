using System.Net.Http.Headers;
using Azure.Core;

namespace Iwrs.Storage.Tables;

/// <summary>
/// Microsoft Entra authorization (https://learn.microsoft.com/rest/api/storageservices/authorize-with-azure-active-directory):
/// <c>Authorization: Bearer {token}</c> for the scope <c>https://storage.azure.com/.default</c>. The token is cached and
/// fetched again once the injected clock is within 5 minutes of its expiry, so requests neither wait on the identity
/// endpoint every time nor go out with a token that expires in flight. One refresh at a time: concurrent requests
/// that find the token stale wait for the same fetch.
/// </summary>
internal sealed class BearerTokenAuthorizer : TableRequestAuthorizer
{
    public static readonly TimeSpan RefreshMargin = TimeSpan.FromMinutes(5);
    private static readonly string[] Scopes = ["https://storage.azure.com/.default"];

    private readonly TokenCredential _credential;
    private readonly Lock _gate = new();
    private volatile CachedToken? _cached;
    private Task<CachedToken>? _refreshing;

    public BearerTokenAuthorizer(TokenCredential credential) =>
        _credential = credential ?? throw new ArgumentNullException(nameof(credential));

    public override async ValueTask AuthorizeAsync(HttpRequestMessage request, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var token = await GetTokenAsync(now, cancellationToken).ConfigureAwait(false);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
    }

    private async ValueTask<string> GetTokenAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        if (_cached is { } fresh && fresh.IsUsableAt(now))
        {
            return fresh.Token;
        }

        Task<CachedToken> refresh;
        lock (_gate)
        {
            if (_cached is { } refreshed && refreshed.IsUsableAt(now))
            {
                return refreshed.Token;
            }

            // A finished refresh (done or failed) is never reused: a stale or failed token must lead to a new fetch.
            if (_refreshing is null || _refreshing.IsCompleted)
            {
                _refreshing = RefreshAsync();
            }

            refresh = _refreshing;
        }

        // The fetch is shared, so it cannot take one caller's token; each caller stops waiting on its own.
        var token = await refresh.WaitAsync(cancellationToken).ConfigureAwait(false);
        return token.Token;
    }

    private async Task<CachedToken> RefreshAsync()
    {
        var token = await _credential.GetTokenAsync(new TokenRequestContext(Scopes), CancellationToken.None).ConfigureAwait(false);
        var cached = new CachedToken(token.Token, token.ExpiresOn);
        _cached = cached;
        return cached;
    }

    private sealed record CachedToken(string Token, DateTimeOffset ExpiresOn)
    {
        public bool IsUsableAt(DateTimeOffset now) => now < ExpiresOn - RefreshMargin;
    }
}
