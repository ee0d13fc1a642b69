using Microsoft.AspNetCore.Components;

namespace Iwrs.Web.Auth;

/// <summary>The signed-in user's bearer token for <c>/api</c>: from Entra ID when deployed, from the development
/// token endpoint locally.</summary>
public interface IAccessTokenSource
{
    /// <summary>The token, or null when nobody is signed in.</summary>
    ValueTask<string?> GetAsync();

    /// <summary>Where to send someone who is not signed in.</summary>
    string SignInPath { get; }

    /// <summary>The sign-out link's address (the page that ends the session).</summary>
    string SignOutPath { get; }

    /// <summary>Signs out: the development sign-in opens its own sign-out page; Entra ID goes through the OIDC
    /// library's logout, which needs the navigation state <c>NavigateToLogout</c> gives (a plain link to
    /// <c>authentication/logout</c> is refused by the library as a logout the app did not start).</summary>
    void SignOut(NavigationManager navigation);
}
