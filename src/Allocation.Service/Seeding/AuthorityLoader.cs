using Allocation.Grains.Authority;
using Allocation.Grains.Children;
using Allocation.Grains.SocialWorkers;
using Allocation.Grains.Teams;

namespace Allocation.Service.Seeding;

public sealed record LoadTeam(string Id, string Name, decimal? EstablishmentFte = null);

public sealed record LoadWorker(string Id, UpsertWorker Worker);

public sealed record LoadChild(string Id, ImportChild Child);

/// <summary>An authority ready to load: what the demo seed and a bulk import both turn into.</summary>
public sealed record AuthorityLoad(IReadOnlyList<LoadTeam> Teams, IReadOnlyList<LoadWorker> Workers, IReadOnlyList<LoadChild> Children);

/// <summary>Loads teams, then workers, then children with their history, through the grains.</summary>
public static class AuthorityLoader
{
    /// <summary>
    /// Teams loaded at once. A child's import is several storage writes in a row (worker, child, team board), so one
    /// team waits on the database most of the time: 8 teams at once imported the large synthetic authority (10,000
    /// children) in 70 s, 32 in 42 s on the same 2 cores, busier at the time.
    /// </summary>
    public const int MaxParallelism = 32;

    public static async Task LoadAsync(IGrainFactory grains, AuthorityLoad load, CancellationToken cancellationToken, Import.ImportProgress? progress = null)
    {
        progress?.Begin("teams", load.Teams.Count);
        var authority = grains.GetGrain<IAuthorityGrain>(AuthorityGrain.Key);
        foreach (var team in load.Teams)
        {
            await authority.UpsertTeam(team.Id, team.Name);
            if (team.EstablishmentFte is { } establishment)
            {
                await grains.GetGrain<ITeamGrain>(team.Id).SetEstablishment(establishment);
            }

            progress?.Advance();
        }

        progress?.Begin("workers", load.Workers.Count);

        var parallel = new ParallelOptions { MaxDegreeOfParallelism = MaxParallelism, CancellationToken = cancellationToken };
        await Parallel.ForEachAsync(load.Workers, parallel, async (w, _) =>
        {
            var result = await grains.GetGrain<ISocialWorkerGrain>(w.Id).Upsert(w.Worker);
            if (result.Refusal is { } refusal)
            {
                throw new InvalidDataException($"Worker {w.Id}: {refusal.Detail}");
            }

            progress?.Advance();
        });

        progress?.Begin("children", load.Children.Count);

        // Children of one team go in one at a time: each one updates the team's board.
        await Parallel.ForEachAsync(load.Children.GroupBy(c => c.Child.TeamId), parallel, async (team, _) =>
        {
            foreach (var c in team)
            {
                var result = await grains.GetGrain<IChildGrain>(c.Id).Import(c.Child);
                if (result.Refusal is { } refusal)
                {
                    throw new InvalidDataException($"Child {c.Id}: {refusal.Detail}");
                }

                progress?.Advance();
            }
        });
    }
}
