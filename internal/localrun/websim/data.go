package websim

import (
	"math/rand/v2"
	"strings"
)

// The vocabulary the simulated tickets are drawn from. A ticket stores indexes
// into these tables, so 100 000 tickets cost a few megabytes.

var titles = []string{
	"Impressora não imprime", "Sem acesso ao e-mail", "Erro ao emitir nota fiscal",
	"Computador lento", "VPN não conecta", "Solicitação de novo usuário",
	"Troca de senha do ERP", "Backup não concluído", "Telefone sem linha",
	"Wi-Fi instável na filial", "Instalação do pacote Office", "Certificado digital vencido",
	"Sistema de ponto fora do ar", "Monitor não liga", "Acesso à pasta compartilhada",
	"Atualização do antivírus", "Erro no boleto bancário", "Relatório financeiro divergente",
	"Câmera de segurança offline", "Lentidão no sistema de vendas", "Configurar celular corporativo",
	"Planilha corrompida", "Migração de caixa postal", "Leitor de código de barras com defeito",
	"Licença do Windows expirada", "Bloqueio de conta no AD", "Impressora fiscal travada",
	"Dúvida sobre fatura", "Cancelamento de contrato", "Orçamento para novo servidor",
	"Nobreak apitando", "Site institucional fora do ar", "Integração com marketplace falhou",
	"Restaurar arquivo excluído", "Teclado com teclas falhando", "Erro 500 no portal do cliente",
	"Agendamento de visita técnica", "Troca de toner", "Spam em excesso", "Ramal transferindo errado",
}

var companies = []string{
	"ACME Ltda", "Padaria Pão Quente", "Construtora Horizonte S.A.", "Farmácia Saúde Total",
	"Transportes Rápido Sul", "Clínica Bem Viver", "Escola Pequeno Príncipe", "Mercado Bom Preço",
	"Advocacia Ribeiro & Souza", "Contabilidade Exata", "Auto Peças Paulista", "Hotel Mar Azul",
	"Metalúrgica Aço Forte", "Óptica Visão Clara", "Imobiliária Lar Doce Lar", "Laticínios Serra Verde",
	"Distribuidora Norte Nordeste", "Papelaria Arco-Íris", "Restaurante Sabor Mineiro", "Agropecuária Campo Belo",
	"Editora Letras Novas", "Pet Shop Amigo Fiel", "Gráfica Impressão Rápida", "Cooperativa Vale do Café",
	"Consultório Odonto Sorriso", "Academia Corpo em Forma", "Loja de Móveis Aconchego", "TechSul Informática",
	"Vidraçaria Cristal", "Associação Comercial de Itu",
}

var firstNames = []string{
	"Ana", "João", "Maria", "José", "Francisco", "Antônio", "Carlos", "Paulo", "Pedro", "Lucas",
	"Luiz", "Marcos", "Gabriel", "Rafael", "Juliana", "Fernanda", "Patrícia", "Aline", "Camila",
	"Beatriz", "Larissa", "Letícia", "Mariana", "Rodrigo", "Bruno", "Thiago", "Felipe", "Vanessa",
	"Sérgio", "Conceição",
}

var lastNames = []string{
	"Silva", "Santos", "Oliveira", "Souza", "Rodrigues", "Ferreira", "Alves", "Pereira", "Lima",
	"Gomes", "Costa", "Ribeiro", "Martins", "Carvalho", "Araújo", "Melo", "Barbosa", "Rocha",
	"Dias", "Nascimento", "Moreira", "Cardoso", "Teixeira", "Correia", "Mendes",
}

var desks = []ref{{3, "Suporte N1"}, {4, "Suporte N2"}, {5, "Financeiro"}, {6, "Implantação"}, {8, "Infraestrutura"}}

var stages = []ref{{1, "Novo"}, {7, "Em atendimento"}, {9, "Aguardando cliente"}, {11, "Aguardando terceiros"}, {12, "Resolvido"}, {13, "Encerrado"}}

// statuses holds the four the contract names plus two it does not, as a real
// account with custom statuses would send: "Em análise" (open) and
// "Descartado", a canceling status whose name does not start with "Cancel",
// so only the filter_by=canceled pass can tell such a ticket is canceled.
var statuses = []ref{{1, "Opened"}, {2, "Closed"}, {3, "Canceled"}, {4, "Pending"}, {9, "Em análise"}, {10, "Descartado"}}

const (
	stOpened = iota
	stClosed
	stCanceled
	stPending
	stUnknown
	stDiscarded
)

// ways are the created_by_way_of labels in the order of the list filter's
// codes 0-12 (OpenAPI get_tickets, parameter created_by_way_of), plus one a
// real account may send that the contract does not list.
var ways = []string{"Tiflux Web", "Tiflux Agent", "Chat Widget", "Whatsapp", "Email", "External form",
	"Tiflux Mobile", "Tiflux API", "Chat", "Recurrent activity", "Trigger", "Ticket Group", "AI Agent", "Portal do Parceiro"}

var catalogs = []Catalog{{"TI", "Hardware", "Impressora"}, {"TI", "Acessos", "Novo usuário"}, {"TI", "Rede", "VPN"},
	{"Financeiro", "Cobrança", "Segunda via de boleto"}, {"Implantação", "ERP", "Treinamento"}}

var priorities = []ref{{1, "Low"}, {3, "Medium"}, {2, "High"}, {4, "Urgent"}, {5, "Critical"}}

var answerTypes = []string{"", "client", "attendant"}

type ref struct {
	id   int64
	name string
}

type person struct {
	id          int64
	name, email string
	client      int // index into companies
}

// staff are the attendants a ticket can be assigned to.
var staff []ref

// requestors are the clients' people who open tickets.
var requestors []person

func init() {
	r := rand.New(rand.NewPCG(7, 7)) // the vocabulary is the same whatever the seed
	for i := range 18 {
		staff = append(staff, ref{int64(40 + i), firstNames[r.IntN(len(firstNames))] + " " + lastNames[r.IntN(len(lastNames))]})
	}
	for i := range 400 {
		f, l := firstNames[r.IntN(len(firstNames))], lastNames[r.IntN(len(lastNames))]
		c := r.IntN(len(companies))
		requestors = append(requestors, person{id: int64(900 + i), name: f + " " + l,
			email: strings.ToLower(ascii(f)+"."+ascii(l)) + "@" + domain(companies[c]), client: c})
	}
}

// ascii folds the Portuguese accents out of s for an e-mail address.
func ascii(s string) string {
	return strings.NewReplacer("á", "a", "à", "a", "â", "a", "ã", "a", "é", "e", "ê", "e", "í", "i",
		"ó", "o", "ô", "o", "õ", "o", "ú", "u", "ç", "c", "Á", "A", "É", "E", "Ó", "O").Replace(s)
}

// domain makes an e-mail domain from a company name.
func domain(company string) string {
	w := strings.Fields(strings.ToLower(ascii(company)))
	var b strings.Builder
	for _, x := range w {
		x = strings.Trim(x, ".&,")
		if x == "ltda" || x == "s.a" || x == "s.a." || x == "de" || x == "" {
			continue
		}
		b.WriteString(strings.ReplaceAll(x, "-", ""))
		if b.Len() > 12 {
			break
		}
	}
	return b.String() + ".com.br"
}
