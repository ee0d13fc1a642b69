using Microsoft.AspNetCore.Components;
using Microsoft.AspNetCore.Components.WebAssembly.Authentication;

namespace Iwrs.Web.Auth;

/// <summary>Deployed sign-in: Entra ID through the OIDC library (authorization code with PKCE); the access token
/// carries the API's scope.</summary>
public sealed class EntraSignIn(IAccessTokenProvider provider, WebSettings settings) : IAccessTokenSource
{
    public string SignInPath => "authentication/login";

    public string SignOutPath => "authentication/logout";

    public void SignOut(NavigationManager navigation) => navigation.NavigateToLogout(SignOutPath);

    public async ValueTask<string?> GetAsync()
    {
        var result = await provider.RequestAccessToken(new AccessTokenRequestOptions { Scopes = settings.ApiScope is null ? [] : [settings.ApiScope] });
        return result.TryGetToken(out var token) ? token.Value : null;
    }
}
